start = init_rnn_params(len(vocab), 8, 16, seed=0)
p_start = next_word_probs(start, prefix)[chatgpt]
print(f'untrained: p("ChatGPT" | "my favorite LLM is") = {p_start:.3f}   (1 / V = {1 / len(vocab):.3f})')
loss_start = sequence_loss(start, token_ids)
print(f"untrained: sequence loss = {loss_start:.3f}   (log V = {np.log(len(vocab)):.3f})")
