"""Running the labs as a workshop on a JupyterHub: launch links, student copies, class results."""
