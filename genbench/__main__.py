from genbench.cli import entry

entry()
