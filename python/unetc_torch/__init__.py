"""unetc's PyTorch side: runs the modules `unetc compile --target pytorch` writes.

Needs only python3 with torch and numpy; never imported by a generated module.
"""
