corpus = [
    "my favorite LLM is ChatGPT",
    "my favorite LLM is ChatGPT",
    "my favorite LLM is ChatGPT",
    "my favorite LLM is Claude",
    "my favorite food is pizza",
    "my favorite color is blue",
    "your favorite LLM is ChatGPT",
    "your favorite food is pasta",
]
vocab = sorted({word for sentence in corpus for word in sentence.split()})
word_to_id = {word: i for i, word in enumerate(vocab)}
token_ids = np.array([[word_to_id[word] for word in sentence.split()] for sentence in corpus])
prefix = np.array([word_to_id[word] for word in "my favorite LLM is".split()])
chatgpt = word_to_id["ChatGPT"]
print(f"{len(vocab)} words, {token_ids.shape[0]} sentences of {token_ids.shape[1]} words")
