"""From exported tasks to training data: rollouts in Harbor, trajectory filters, SFT export."""
