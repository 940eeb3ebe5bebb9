"""The NIM simulator: an image that behaves, to a launcher, like the Mistral-Small-4 NIM container.

`sim/` is the server (standard library only: it runs on the bare python3.11 in the image and
in-process in tests); `image.py` builds the image offline with docker-py. Import those modules
directly; this package imports nothing so that `import nimctl.simulator` never pulls in docker.
"""
