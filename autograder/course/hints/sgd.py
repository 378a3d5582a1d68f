"""Part 3 hints: sgd_step, minibatch_indices, train_tiny, torch_train_step."""

REBINDS = ("update the arrays in place: params[k] -= lr * grads[k]. Writing params[k] = params[k] - "
           "lr * grads[k] puts a new array in the dict, so the caller's arrays (and a model holding "
           "them) never change.")
CHANGES_GRADS = ("leave grads unchanged: compute lr * grads[k] as a new array (params[k] -= lr * grads[k]) "
                 "instead of scaling grads[k] in place.")
ASCENDS = "step against the gradient: params[k] -= lr * grads[k] (not +=)."
IGNORES_LR = "multiply the gradient by the learning rate: params[k] -= lr * grads[k]."
NO_SHUFFLE = "shuffle first: perm = rng.permutation(n), then cut perm into the slices perm[i:i + batch_size]."
DROPS_LAST = "keep the last, shorter batch: range(0, n, batch_size) reaches it, so every index appears once."
USE_THE_RNG = ("draw the order from the rng you are given, exactly once: perm = rng.permutation(n). "
               "np.random.* or a new Generator gives an order the grader cannot replay.")
LOSS_BEFORE_UPDATE = "record each minibatch's loss as tiny_forward returns it, before w1 and w2 are updated."
RNG_ONCE = ("create rng = np.random.default_rng(seed) once, before the epoch loop: a new rng every "
            "epoch repeats the first epoch's order of batches.")
TIMES_LR = "step by the learning rate times the gradient: w ← w - lr·dL/dw (pass lr to sgd_step)."
AGAINST_GRADIENT = "step against the gradient: w ← w - lr·dL/dw."
ZERO_GRAD = ("call optimizer.zero_grad() before loss.backward(): PyTorch adds new gradients to the "
             "old ones, so without it the second step uses the sum of both steps' gradients.")
LOSS_BEFORE_STEP = ("return the loss computed before optimizer.step(): loss.item() of the loss you called "
                    "backward() on.")
MEAN_REDUCTION = "use the mean over all N·T positions (F.cross_entropy's default reduction=\"mean\"), not the sum."
RETURNS_NONE = "a call returned None: return the loss before the step as a float (loss.item())"
