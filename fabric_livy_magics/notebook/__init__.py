"""The notebook layer: the only code that imports IPython and ipywidgets.

``magics`` declares ``%livy``/``%%livy``; ``commands/`` does the work of each subcommand on the
library in ``livy/``; ``display`` and ``progress`` show results; ``widgets`` is the sign-in form;
``kernel`` is the Jupyter kernel in which every cell runs remotely.
"""
