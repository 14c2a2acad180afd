"""Debuggers and correctness tools, driven from Python so that the book can show them working.

``tools`` says which tools this machine has (each one sentence when missing); ``bounded`` runs a
command under a time limit and kills its whole process group, so that nothing a chapter or test
starts (a hung MPI job, a program stopped under a debugger) outlives it.
"""
