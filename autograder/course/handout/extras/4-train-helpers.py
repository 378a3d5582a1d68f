def train_numpy(params, token_ids, lr, batch_size, epochs, seed):
    """Minibatch SGD with your rnn_backward and sgd_step; returns the loss of every step."""
    generator = np.random.default_rng(seed)
    curve = []
    for epoch in range(epochs):
        for batch in minibatch_indices(len(token_ids), batch_size, generator):
            curve.append(sequence_loss(params, token_ids[batch]))
            sgd_step(params, rnn_backward(params, token_ids[batch]), lr)
    return curve


def train_torch(params, token_ids, lr, batch_size, epochs, seed):
    """The same training with PyTorch's autograd and your torch_train_step (no rnn_backward needed).

    Embedding -> RNN -> Linear is the model of rnn_forward. It starts from params and copies the
    trained weights back into them, so that next_word_probs sees the trained model.
    """
    vocab_size, embed_dim = params["E"].shape
    hidden_dim = params["W_h"].shape[0]
    embedding = torch.nn.Embedding(vocab_size, embed_dim).double()
    recurrent = torch.nn.RNN(embed_dim, hidden_dim, nonlinearity="tanh", batch_first=True).double()
    output = torch.nn.Linear(hidden_dim, vocab_size).double()
    weights = {embedding.weight: "E", recurrent.weight_ih_l0: "W_e", recurrent.weight_hh_l0: "W_h",
               recurrent.bias_ih_l0: "b_h", output.weight: "U", output.bias: "b_o"}  # torch <- ours
    with torch.no_grad():
        for tensor, key in weights.items():
            tensor.copy_(torch.from_numpy(params[key]))
        recurrent.bias_hh_l0.zero_()  # torch has a second hidden bias; ours is b_h alone
    recurrent.bias_hh_l0.requires_grad_(False)

    def model(ids):
        return output(recurrent(embedding(ids))[0])

    optimizer = torch.optim.SGD(list(weights), lr=lr)
    generator = np.random.default_rng(seed)
    curve = []
    for epoch in range(epochs):
        for batch in minibatch_indices(len(token_ids), batch_size, generator):
            ids = torch.as_tensor(token_ids[batch], dtype=torch.long)
            curve.append(torch_train_step(model, optimizer, ids[:, :-1], ids[:, 1:]))
    for tensor, key in weights.items():
        params[key][...] = tensor.detach().numpy()
    return curve


def plot_loss_curve(curve):
    """The training loss of every SGD step (each point is one minibatch, hence the noise)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(curve, linewidth=1)
    ax.set_xlabel("SGD step")
    ax.set_ylabel("minibatch loss (cross-entropy)")
    ax.set_title("Training the tiny RNN language model")
    ax.grid(alpha=0.3)
    plt.show()
