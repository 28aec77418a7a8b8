"""`cligym report`: one self-contained HTML page about a work directory's catalog."""
