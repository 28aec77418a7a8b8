"""Export: Harbor and Terminal-Bench task directories and the dataset manifest."""
