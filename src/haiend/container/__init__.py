"""Containers as HPC sites run them: an Apptainer-style image built, mounted and entered by hand.

An Apptainer (formerly Singularity) image is one file holding a read-only SquashFS file system.
``apptainer exec image.sif CMD`` mounts it, makes it the root of a new mount namespace (inside a
user namespace when the user is not root), binds the host's home, ``/proc``, ``/sys``, ``/dev``
and, with ``--nv``, the NVIDIA driver into it, and runs CMD there as the same user, with the
same processes, network and environment. No daemon is involved: the command is an ordinary
process of the user, so the batch system sees, limits and kills it like any other.

Debian 12 has no Apptainer, but it has every piece Apptainer is made of, and this package puts
them together so the mechanism can be watched and measured:

* :mod:`haiend.container.recipe` says what goes into the image and hashes it (the cache key);
* :mod:`haiend.container.image` builds the root file system with ``mmdebstrap`` and packs it with
  ``mksquashfs`` into the user cache, once per recipe;
* :mod:`haiend.container.enter` mounts the image with ``squashfuse`` (a FUSE file system: no root
  needed), enters it with ``bwrap`` (bubblewrap: the image as ``/``, the binds), and unmounts it;
* :mod:`haiend.container.inside` tells a process that it runs in a container (Apptainer's own
  environment variables), so every record says where it was measured;
* :mod:`haiend.container.measure` runs one kernel inside and outside and compares the records;
* :mod:`haiend.container.apptainer` writes the Apptainer definition file a cluster builds from.

This ``__init__`` imports nothing, so that :mod:`haiend.records` can import ``inside`` cheaply.
"""
