"""Grading a task: the grader shipped in every task, the gold manifest and static tools it
trusts (the kit), the verifier script that starts it, and running it in a container."""
