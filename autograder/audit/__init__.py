"""The audit: mutation analysis of the checks (`python -m autograder audit`, `make audit`).

operators.py   the mutation operators (AST, chosen for numerical array code)
mutants.py     single-change mutants of the solutions, written as submissions
equivalence.py equivalent mutants, detected by running them beside the solutions in the sandbox
run.py         the audit: mutate, grade through grade-all, classify; the kill rate
report.py      the terminal table, audit.html and the JSON summary
"""
