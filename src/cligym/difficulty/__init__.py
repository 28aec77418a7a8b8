"""Difficulty, measured: a ladder of blind repair scripts run on every verified task, and what
the task's own record says about its repair (ordered steps, subsystems, symptom distance)."""
