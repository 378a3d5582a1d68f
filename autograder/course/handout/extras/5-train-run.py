use_torch = False  # True: train with PyTorch autograd and your torch_train_step instead of rnn_backward
settings = dict(lr=0.5, batch_size=4, epochs=150, seed=0)

trained = init_rnn_params(len(vocab), 8, 16, seed=0)
if use_torch:
    curve = train_torch(trained, token_ids, **settings)
else:
    try:
        curve = train_numpy(trained, token_ids, **settings)
    except NotImplementedError:
        print("rnn_backward (the bonus) is not implemented: training with PyTorch instead")
        curve = train_torch(trained, token_ids, **settings)

p_end = next_word_probs(trained, prefix)[chatgpt]
print(f"{len(curve)} SGD steps: loss {curve[0]:.3f} -> {curve[-1]:.3f}")
print(f'trained: p("ChatGPT" | "my favorite LLM is") = {p_end:.3f}   (was {p_start:.3f}; the corpus: 3/4)')
plot_loss_curve(curve)
