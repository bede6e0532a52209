"""Every file nnspec reads or writes: paths confined to their roots, memory limits, .npy/.npz files,
CSV rows, atomic writes and the checks of an output path. Imports core only.
"""
