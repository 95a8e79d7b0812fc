"""What a process starts on this machine for a run dies with it, however it ends: the local
emulator's tasks and a hybrid worker's flows, as subprocesses (:mod:`.orphans`: process groups
and a parent-death signal) or as containers (:mod:`.reaper`: labels and a reaper process).

Shared by ``pushpool.dev`` and ``pushpool.worker``, below both: the standard library only, and
the Docker SDK when a reaper asks the engine.
"""
