"""Generate the Jupyter notebook handout `nlm_training.ipynb` from the part modules.

The notebook is one nbformat v4.5 document: an introduction, then per part a Markdown cell that
teaches it (the lecture's formulas), a code cell with the part's imports and one answer cell per
graded function, then how to check your work and an optional, ungraded part that trains a tiny RNN
language model with the student's own functions.

Answer cells carry the metadata ``{"nlm": {"answer": "<module>.<function>"}}`` (and the tag
"answer"); the imports cells carry ``{"nlm": {"answer": "<module>.imports"}}``, because once any
cell is marked the loader (`submission.py`) reads the marked cells only, and the answers need their
imports. The functions come verbatim from the stubs (or the solutions), cut out with `ast`, so the
notebook can never drift from the `.py` handout. Imports of the part modules themselves (`from
losses import softmax`) are dropped: a notebook is one namespace.

The output is deterministic (fixed cell ids, no timestamps): `python -m autograder stubs`
regenerates identical bytes, and a test compares the committed notebook with what this makes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from autograder.contract import FUNCTIONS, GRADED_FUNCTIONS, PART_MODULES, PARTS
from autograder.stubs import PART_FILES, make_stub

NOTEBOOK_NAME = "nlm_training.ipynb"
NBFORMAT_MINOR = 5  # cell ids, which make the file reproducible byte for byte
ANSWER_TAG = "answer"
_SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_MARKER_LINE = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION[^\n]*\n", re.MULTILINE)
_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def answer_mark(module: str, name: str) -> str:
    """The ``nlm.answer`` mark of a cell: "losses.softmax", or "losses.imports" for the imports."""
    return f"{module}.{name}"


def build_notebook(sources: dict[str, str], *, with_solutions: bool) -> nbformat.NotebookNode:
    """The handout notebook made from the part modules' solution sources.

    ``sources`` maps each part ("losses" or "losses.py", ...) to its solution text (stub text
    works too: it has no solution regions). With ``with_solutions`` the functions keep their
    solutions (marker comments removed); otherwise they are the stubs `make_stub` makes.
    """
    by_module = {Path(key).stem: text for key, text in sources.items()}
    missing = [m for m in PART_MODULES if m not in by_module]
    if missing:
        raise ValueError(f"no source for the part module(s) {', '.join(missing)}")

    cells = [_markdown("intro", _intro())]
    for module in PART_MODULES:
        text = by_module[module]
        text = _MARKER_LINE.sub("", text) if with_solutions else make_stub(text)
        cells.append(_markdown(f"{module}-lesson", _LESSONS[module] + _graded_here(module)))
        cells += _code_cells(module, text)
    cells.append(_markdown("check-your-work", _CHECK_YOUR_WORK))
    cells += [
        _markdown("train-intro", _TRAIN_INTRO),
        _code("train-data", _TRAIN_DATA),
        _code("train-before", _TRAIN_BEFORE),
        _code("train-helpers", _TRAIN_HELPERS),
        _code("train-run", _TRAIN_RUN),
        _markdown("train-try", _TRAIN_TRY),
    ]
    nb = nbformat.v4.new_notebook(cells=cells, metadata=_METADATA)
    nb.nbformat_minor = NBFORMAT_MINOR
    nbformat.validate(nb)
    return nb


def write_notebook(path: Path, solutions_dir: Path | None = None, *, with_solutions: bool = False) -> Path:
    """Build the notebook from ``solutions_dir`` (default: the repository's solutions/), write it
    to ``path`` with `nbformat.write`, and return ``path``."""
    solutions_dir = Path(solutions_dir) if solutions_dir else _SOLUTIONS
    sources = {name: (solutions_dir / name).read_text() for name in PART_FILES}
    nb = build_notebook(sources, with_solutions=with_solutions)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# --- cells -------------------------------------------------------------------------------------


def _markdown(cell_id: str, text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip("\n"), id=cell_id)


def _code(cell_id: str, source: str, mark: str | None = None,
          tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    metadata = {}
    if mark:
        metadata["nlm"] = {"answer": mark}
    if tags:
        metadata["tags"] = list(tags)
    return nbformat.v4.new_code_cell(source.strip("\n"), id=cell_id, metadata=metadata)


def _code_cells(module: str, text: str) -> list[nbformat.NotebookNode]:
    """The part's imports cell, then one answer cell per graded function, in the contract's order."""
    tree = ast.parse(text)
    lines = text.splitlines()
    functions = {n.name: n for n in tree.body if isinstance(n, _FUNCTIONS)}
    graded = GRADED_FUNCTIONS[module]
    absent = [name for name in graded if name not in functions]
    if absent:
        raise ValueError(f"{module}: no top-level definition of {', '.join(absent)}")

    setup, from_parts = [], []
    for position, node in enumerate(tree.body):
        if position == 0 and _is_docstring(node):
            continue  # the module docstring: the lesson cell says it better
        if isinstance(node, _FUNCTIONS) and node.name in graded:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in PART_MODULES:
            from_parts += [alias.name for alias in node.names]
            continue
        if isinstance(node, ast.Import):
            kept = [alias for alias in node.names if alias.name not in PART_MODULES]
            if len(kept) < len(node.names):
                from_parts += [alias.name for alias in node.names if alias.name in PART_MODULES]
                if kept:
                    setup.append(ast.unparse(ast.Import(names=kept)))
                continue
        setup.append(_segment(lines, node))

    part = PARTS[module].split(":")[0]
    header = [f"# {part} imports: this cell is graded with your answers, so add any import they need here."]
    if from_parts:
        header.append(f"# {', '.join(from_parts)}: defined in the parts above (a notebook is one namespace).")
    cells = [_code(f"{module}-imports", "\n".join(header) + "\n" + "\n".join(setup),
                   answer_mark(module, "imports"), (ANSWER_TAG, "imports"))]
    for name in graded:
        cells.append(_code(f"{module}-{name}", _segment(lines, functions[name], comments=True),
                           answer_mark(module, name), (ANSWER_TAG,)))
    return cells


def _segment(lines: list[str], node: ast.stmt, comments: bool = False) -> str:
    """A top-level statement's source lines, with its decorators (and the comment block just above)."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    if comments:
        while start > 1 and lines[start - 2].startswith("#"):
            start -= 1
    return "\n".join(lines[start - 1:node.end_lineno])


def _is_docstring(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _graded_here(module: str) -> str:
    rows = [f"| `{f.name}` | {f.points:g}{' (bonus)' if f.bonus else ''} |"
            for f in FUNCTIONS if f.module == module]
    return "\n\n**Graded in this part** (each function's docstring states its exact contract):\n\n" \
           "| function | points |\n| --- | --- |\n" + "\n".join(rows) + "\n"


def _intro() -> str:
    rows = []
    for module, title in PARTS.items():
        mine = [f for f in FUNCTIONS if f.module == module]
        regular = sum(f.points for f in mine if not f.bonus)
        bonus = sum(f.points for f in mine if f.bonus)
        names = ", ".join(f"`{f.name}`" for f in mine)
        rows.append(f"| {title} | {names} | {regular:g}{f' + {bonus:g} bonus' if bonus else ''} |")
    total = sum(f.points for f in FUNCTIONS if not f.bonus)
    bonus = sum(f.points for f in FUNCTIONS if f.bonus)
    fields = {"<TABLE>": "\n".join(rows), "<TOTAL>": f"{total:g}", "<BONUS>": f"{bonus:g}"}
    return re.sub("|".join(fields), lambda m: fields[m[0]], _INTRO)


# --- text --------------------------------------------------------------------------------------

_INTRO = r"""
# Training neural language models

A neural language model has parameters $\theta$ (for an RNN LM: an embedding matrix, $W_e$, $W_h$,
$U$ and biases), all randomly initialised, so $p(w_n \mid w_1 \dots w_{n-1})$ is random to start
with. Training adjusts $\theta$ to maximise the likelihood of the training data, in three steps
that you implement here in NumPy (and a little PyTorch):

1. a **loss** $L(\theta)$ that says how badly the model predicts the next word (Part 1);
2. its **gradient** $\partial L / \partial \theta$ by backpropagation, the chain rule (Part 2);
3. a **step against the gradient**, stochastic gradient descent (Part 3);

and then you put them together in a recurrent neural language model (Part 4). The running example:
after training, the model should give a high probability to *ChatGPT* after *my favorite LLM is*.

| part | functions | points |
| --- | --- | --- |
<TABLE>
| **total** | | **<TOTAL>** + <BONUS> bonus |

### How to work in this notebook

- Each graded function has its own **answer cell**, ending in `# YOUR CODE HERE` and
  `raise NotImplementedError`. Replace those two lines by your code; keep the function's name,
  arguments and return value as its docstring describes.
- Run the cells from the top. Later parts call your functions from earlier parts: a notebook is
  one namespace, so there is no `from losses import ...` here.
- Only the answer cells and each part's imports cell are graded, and only the imports, function
  and class definitions and constants in them: prints, tests and plots are ignored, and cells you
  add are not read at all. Put a helper function in the same answer cell as the function that
  uses it, and an extra import in the part's imports cell.
- Do not delete, split or duplicate the answer cells, and do not edit their metadata: it tells the
  grader which function each cell holds.
- All arrays are float64 NumPy arrays unless a function says torch. Each call of your function
  runs with a limit of 10 s and 2 GiB of memory; a crash or a hang costs only that function.
- A bug costs points only in the function where it is: where a function calls another graded
  function, the grader checks it with correct versions of what it calls.
"""

_LESSONS = {
    "losses": r"""
## Part 1: the loss

### Why the loss must be smooth and differentiable

Training changes $\theta$ a little at a time, in the direction that lowers the loss, and that
direction is given by the gradient $\partial L / \partial \theta$. So $L(\theta)$ must be smooth and
differentiable: a small change of $\theta$ must give a small, predictable change of $L$. "The number
of next words guessed right" is not: it is flat almost everywhere (its gradient is 0) and jumps
when a guess flips, so it never tells gradient descent which way to go.

### Softmax: from scores to next-word probabilities

The network gives each of the $V$ words of the vocabulary a score (a *logit*) $z_w$; softmax turns
the scores into a probability distribution over the next word:

$$p(w \mid w_1 \dots w_{n-1}) = \mathrm{softmax}(z)_w = \frac{e^{z_w}}{\sum_{j=1}^{V} e^{z_j}}.$$

### Cross-entropy: the negative log-probability of the correct next word

The cross-entropy between the true distribution $y$ and the model's $p$ is
$H(y, p) = -\sum_w y_w \log p_w$. For next-word prediction $y$ is one-hot on the correct word $c$,
so every term but one vanishes:

$$L = -\log p(c \mid \text{context}), \qquad \text{for example} \qquad
L = -\log p(\text{ChatGPT} \mid \text{my favorite LLM is}).$$

If the model gives *ChatGPT* probability 1 the loss is 0; probability 0.5 costs
$-\log 0.5 \approx 0.69$; 0.01 costs $\approx 4.6$; and the loss grows without bound as the
probability goes to 0. Over $N$ predictions (a batch, or every position of a text) the loss is the
mean, which is what `torch.nn.functional.cross_entropy` computes (reduction "mean"):

$$L = \frac{1}{N} \sum_{i=1}^{N} -\log \mathrm{softmax}\big(z^{(i)}\big)_{c_i}.$$

Minimising it maximises the likelihood of the training data.

### Stability: the log-sum-exp trick

$e^{z}$ overflows float64 for $z > 709$: $e^{10^4}$ is `inf`, and `inf / inf` is `nan`. Softmax
does not change when the same number is subtracted from every score, so with $m = \max_j z_j$

$$\mathrm{softmax}(z)_i = \frac{e^{z_i - m}}{\sum_j e^{z_j - m}}, \qquad
\log \mathrm{softmax}(z)_i = z_i - m - \log \sum_j e^{z_j - m}.$$

Now every exponent is at most 0 and the sum is at least 1: nothing overflows and the logarithm
never sees 0. Compute `log_softmax` this way, never as `np.log(softmax(z))` (that gives
$\log 0 = -\infty$ for a very unlikely word), and build `cross_entropy` on it. All functions work
over the last axis, whatever the leading shape.

### The square loss

The tiny network of Part 2 predicts a number, not a word; its loss is the square loss
$L = \frac{1}{N} \sum_i \tfrac12 (y_i - o_i)^2$. The $\tfrac12$ cancels the 2 of the derivative:
for one example $\partial L / \partial o = -(y - o)$.
""",
    "backprop": r"""
## Part 2: backpropagation

Backpropagation computes $\partial L / \partial \theta$ with the chain rule, starting at the loss
and working from the output layer down, caching every derivative already computed so that it is
reused rather than recomputed.

### The tiny network

The lecture's worked example has two parameters, $\theta = \{w_1, w_2\}$, an input $x$ and a
target $y$:

$$h = \tanh(w_1 x), \qquad o = \tanh(w_2 h), \qquad L = \tfrac12 (y - o)^2.$$

The one fact about $\tanh$ you need: $\frac{d}{dz} \tanh z = 1 - \tanh^2 z$. So the derivative of
$o = \tanh(w_2 h)$ with respect to its argument is $1 - o^2$, written with the output $o$ that the
forward pass already computed (and the same for $h$: $1 - h^2$).

### The chain rule, one link at a time

| derivative | value |
| --- | --- |
| $\partial L / \partial o$ | $-(y - o)$ |
| $\partial o / \partial w_2$ | $(1 - o^2)\, h$ |
| $\partial o / \partial h$ | $(1 - o^2)\, w_2$ |
| $\partial h / \partial w_1$ | $(1 - h^2)\, x$ |

The output layer first:

$$\frac{\partial L}{\partial w_2} = \frac{\partial L}{\partial o} \frac{\partial o}{\partial w_2}
= -(y - o)\,(1 - o^2)\,h.$$

Then one layer down, reusing what is already computed:

$$\frac{\partial L}{\partial w_1} = \frac{\partial L}{\partial o} \frac{\partial o}{\partial h}
\frac{\partial h}{\partial w_1} = -(y - o)\,(1 - o^2)\,w_2\,(1 - h^2)\,x.$$

The factor $-(y - o)(1 - o^2)$ is shared by both gradients: compute it once. In a deep network this
reuse is what makes backpropagation cost about as much as the forward pass.

### Batches and the cache

On a batch, $L = \frac{1}{N} \sum_i \tfrac12 (y_i - o_i)^2$ and, because $w_1$ and $w_2$ are shared by
every example, each gradient is the mean of the per-example gradients, for example
$\frac{\partial L}{\partial w_2} = \frac{1}{N} \sum_i -(y_i - o_i)(1 - o_i^2)\,h_i$.
`tiny_forward` returns the loss and a *cache*, the dict of values the backward pass needs
(`x`, `y`, `w1`, `w2`, `h`, `o`); `tiny_backward` gets nothing but that dict.

### The gradient of cross-entropy

For one example with scores $z$ and correct word $c$, $L = -z_c + \log \sum_j e^{z_j}$, so

$$\frac{\partial L}{\partial z_k} = \mathrm{softmax}(z)_k - [k = c], \qquad
\nabla_z L = \mathrm{softmax}(z) - \mathrm{onehot}(c).$$

Gradient descent raises the correct word's score and lowers every other score in proportion to
the probability the model gives it. For the mean over $N$ rows each row's gradient is divided by $N$.
""",
    "sgd": r"""
## Part 3: stochastic gradient descent

### The update

$$\theta_{\text{new}} = \theta_{\text{old}} - \eta\, \frac{\partial L}{\partial \theta}$$

$\eta$ is the **learning rate**. Too small and training crawls; too large and each step
overshoots the minimum, so the loss oscillates or blows up.

### Batch size and epochs

Computing $\partial L / \partial \theta$ over the whole training set before every step is
expensive. SGD estimates it from a **minibatch** $B$ of examples,
$\frac{\partial L}{\partial \theta} \approx \frac{1}{|B|} \sum_{i \in B} \frac{\partial L_i}{\partial \theta}$:
the **batch size** $|B|$ says how many training examples estimate the gradient before each step.
Batch size 1 gives cheap, noisy steps; the whole data set gives (full-batch) gradient descent.
An **epoch** is one pass over the shuffled data in minibatches, so training takes
epochs $\times \lceil n / \text{batch size} \rceil$ steps.

### The exact minibatch order

So that the grader can replay your training, the minibatches are made in exactly one way: shuffle
with `rng.permutation(n)`, then cut the permutation into consecutive slices of `batch_size`
indices (the last slice may be shorter). `train_tiny` creates its generator with
`np.random.default_rng(seed)` once, before the first epoch (not once per epoch), so each epoch
draws a new permutation from the same generator. It records each minibatch's loss *before* that
minibatch's update and updates `w1` and `w2` with your `sgd_step`.

### Updates happen in place

`torch.optim.SGD` changes the parameter tensors in place: the model holds references to those very
tensors, so the update must write into them. In NumPy, `params[k] -= lr * grads[k]` writes into
the existing array, while `params[k] = params[k] - lr * grads[k]` creates a new array and leaves
every other reference pointing at the old values. `sgd_step` must update in place (and leave
`grads` unchanged).

### The same loop in PyTorch

In PyTorch, steps 2 and 3 are `loss.backward()` (backpropagation: autograd fills each parameter's
`.grad`) and `optimizer.step()` (the SGD update, in place). `backward` *adds* into `.grad` instead
of overwriting it, so clear the old gradients with `optimizer.zero_grad()` before each
`loss.backward()`, or the gradients of earlier batches pile up. A language model's logits have
shape $(N, T, V)$, while `F.cross_entropy` wants $(N \cdot T, V)$ logits and $(N \cdot T,)$
targets: reshape both. Return the loss as a Python float (`loss.item()`).
""",
    "rnn": r"""
## Part 4: a recurrent neural language model

The parameters $\theta$ are a dict of float64 arrays: `E` $(V \times d)$ word embeddings (row $w$
is word $w$'s vector), `W_e` $(H \times d)$, `W_h` $(H \times H)$, `b_h` $(H)$, `U` $(V \times H)$
and `b_o` $(V)$. The model reads a sequence word by word, starting from $h_{-1} = 0$:

$$e_t = E[w_t], \qquad h_t = \tanh(W_e\, e_t + W_h\, h_{t-1} + b_h), \qquad
\text{logits}_t = U h_t + b_o,$$

$$p(w_{t+1} \mid w_0 \dots w_t) = \mathrm{softmax}(\text{logits}_t).$$

The hidden state $h_t$ summarises the prefix read so far, and the same weights are used at every
position. On a batch of $N$ sequences stored as rows, the same equations read
$h_t = \tanh(e_t W_e^\top + h_{t-1} W_h^\top + b_h)$ and $\text{logits}_t = h_t U^\top + b_o$, so
`rnn_forward` returns logits of shape $(N, T, V)$ and hidden states of shape $(N, T, H)$. This is
`torch.nn.Embedding` → `torch.nn.RNN(nonlinearity="tanh", batch_first=True)` → `torch.nn.Linear`.

### Random initialisation

Before training the parameters are small random numbers (every entry at most 1 in absolute value;
the same seed gives the same parameters), so the model's next-word distribution is close to
uniform: about $1/V$ for every word.

### Next-word probabilities

To get $p(\text{ChatGPT} \mid \text{my favorite LLM is})$, feed the prefix's word ids, take the
softmax of the logits at the **last** position, and read the entry of *ChatGPT*.

### The sequence loss

Every position but the last predicts the word after it, so a batch of sequences of length $T$ makes
$N(T-1)$ predictions, and the loss is their mean cross-entropy:

$$L = \frac{1}{N(T-1)} \sum_{n=1}^{N} \sum_{t=0}^{T-2}
-\log p\big(w^{(n)}_{t+1} \mid w^{(n)}_0 \dots w^{(n)}_t\big).$$

### Bonus: backpropagation through time (BPTT)

The gradient flows back from every position's loss, through the output layer and then back through
time. With $\delta_t = \partial L / \partial\, \text{logits}_t$, which is
$\big(\mathrm{softmax}(\text{logits}_t) - \mathrm{onehot}(w_{t+1})\big) / \big(N(T-1)\big)$ for
$t < T-1$ and 0 at the last position (it predicts nothing),

$$\frac{\partial L}{\partial U} = \sum_t \delta_t^\top h_t, \qquad
\frac{\partial L}{\partial b_o} = \sum_t \delta_t \quad \text{(summed over the batch too).}$$

Then from $t = T-1$ down to $0$: the hidden state $h_t$ gets gradient both from its own logits and
from $h_{t+1}$, which it fed through $W_h$. With $a_t$ the argument of $\tanh$ at step $t$,

$$\frac{\partial L}{\partial h_t} = \delta_t U + \frac{\partial L}{\partial a_{t+1}} W_h, \qquad
\frac{\partial L}{\partial a_t} = \frac{\partial L}{\partial h_t} \odot (1 - h_t^2),$$

and each step adds its share to the shared weights: $\big(\frac{\partial L}{\partial a_t}\big)^\top e_t$
to `W_e`, $\big(\frac{\partial L}{\partial a_t}\big)^\top h_{t-1}$ to `W_h`, the batch sum of
$\frac{\partial L}{\partial a_t}$ to `b_h`, and $\frac{\partial L}{\partial a_t} W_e$ to the rows of
`E` of the words read at step $t$ (a word can occur more than once in a batch: accumulate, for
example with `np.add.at`). Check your gradient against PyTorch's autograd or against finite
differences before you submit.
""",
}

_CHECK_YOUR_WORK = r"""
## Check your work

Save the notebook, then, in the folder of the student release, run the visible checks on it:

```
pytest --notebook nlm_training.ipynb
```

Each check is one test, named like the autograder's checks (`<module>.<function>: <what it
checks>`, for example `losses.softmax: finite and exact for logits of ±1e4`), and a failing test
says what was wrong. The checks read the saved file the way the autograder does (the answer cells,
definitions only), so a function that works here only because of a cell you ran by hand will fail
there too. The autograder runs further, hidden checks after the deadline; a function left as the
stub is reported as not attempted.

To submit, upload this `.ipynb` file (a `.zip` holding it works too). Keep the answer cells and
their metadata as they are.
"""

_TRAIN_INTRO = r"""
## Optional: train a tiny RNN language model (not graded)

Now put everything together: train your RNN LM on a toy corpus with your own functions
(`init_rnn_params`, `next_word_probs`, `sequence_loss`, `minibatch_indices`, `sgd_step`, and
`rnn_backward` for the gradient) and watch $p(\text{ChatGPT} \mid \text{my favorite LLM is})$
rise. If you skipped the bonus `rnn_backward`, the same training runs with PyTorch's autograd and
your `torch_train_step` instead (set `use_torch = True` to choose it yourself): both start from
the same parameters and see the same minibatches, so their loss curves agree.

In the corpus, *my favorite LLM is* is followed by *ChatGPT* 3 times out of 4, so maximum
likelihood cannot push that probability to 1: the best the model can do is $3/4$. Nothing in these
cells is graded (the grader ignores cells that are not answer cells).
"""

_TRAIN_DATA = '''
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
'''

_TRAIN_BEFORE = '''
start = init_rnn_params(len(vocab), 8, 16, seed=0)
p_start = next_word_probs(start, prefix)[chatgpt]
print(f'untrained: p("ChatGPT" | "my favorite LLM is") = {p_start:.3f}   (1 / V = {1 / len(vocab):.3f})')
loss_start = sequence_loss(start, token_ids)
print(f"untrained: sequence loss = {loss_start:.3f}   (log V = {np.log(len(vocab)):.3f})")
'''

_TRAIN_HELPERS = '''
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
'''

_TRAIN_RUN = '''
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
'''

_TRAIN_TRY = r"""
### Things to try

- The learning rate: rerun with `lr=0.05` and with `lr=5`. Which one crawls, which one jumps around?
- The batch size: `batch_size=1` (more, noisier steps per epoch) against `batch_size=8` (one
  full-batch step per epoch). Compare the curves for the same number of epochs.
- What does the trained model predict after *your favorite LLM is*, and why is that different?
"""
