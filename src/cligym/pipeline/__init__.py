"""`cligym run`: the whole pipeline over a corpus of repositories, on an executor."""
