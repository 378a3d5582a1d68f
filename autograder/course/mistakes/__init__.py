"""Wrong versions of the graded functions, one module per part (MISTAKES: {function: [Mistake]}).

A judge names a mistake in its feedback when the student's output matches what the wrong version
returns (observed through the function's probe) and not the reference. This folder never ships
to students: each wrong version is, by design, a switch away from a correct solution; the student
release carries their recorded outcomes instead (autograder.check.mistakes).
"""
