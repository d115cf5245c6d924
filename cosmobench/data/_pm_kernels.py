"""Numba kernels of the particle-mesh solver: CIC paint, CIC readout + kick, Fourier force, drift.

Particles are stored as displacements ``s`` (float32, shape (3, N)) from a fixed Lagrangian lattice
``q = (i + 1/4) · L/n_p`` (C order over the particle grid). Why displacements: float32 absolute
positions in a 1000 Mpc/h box resolve 6e-5 Mpc/h, coarse next to the ~0.04 Mpc/h displacements at
z = 127; displacements keep full relative precision at half the memory of float64 positions. Why the
1/4 offset: it puts lattice particles half a mesh cell off the nodes of a 2× mesh (and a quarter off
the nodes of a 1× mesh), where an unperturbed lattice paints an exactly uniform CIC density.

The CIC grid convention is Pylians': the value of node ``j`` sits at ``x = j · cell``.

Parallel paint without races or per-thread copies of the mesh: particles are bucketed (a stable
counting sort) into ``nchunks`` slabs along x, and even slabs are painted in parallel, then odd ones.
A particle in slab c writes only to slabs c and c+1, so slabs of equal parity never touch the same
cell. The slab count depends on the mesh only, never on the thread count, and particles inside a slab
are summed in index order, so the painted mesh is bit-identical for any number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "paint_lattice",
    "readout_kick",
    "force_component",
    "axpy",
    "n_chunks",
]


def n_chunks(n_mesh: int) -> int:
    """Number of x-slabs used by the parallel paint (even, >= 2, each >= 1 cell thick)."""
    c = max(2, n_mesh // 4)
    return c - (c % 2)


#: Lagrangian offset of the particle lattice, in particle spacings (see the module docstring).
LATTICE_OFFSET = 0.25


@njit(cache=True, inline="always")
def _mesh_coord(i, d, disp, n_p, cell_p, inv_cell_m, n_m, off):
    # Lattice index of particle i along axis d, then its position in mesh-cell units, wrapped.
    if d == 0:
        idx = i // (n_p * n_p)
    elif d == 1:
        idx = (i // n_p) % n_p
    else:
        idx = i % n_p
    u = ((idx + off) * cell_p + disp[d, i]) * inv_cell_m
    u = u - n_m * math.floor(u / n_m)
    if u >= n_m:  # float rounding can land exactly on n_m
        u -= n_m
    return u


@njit(cache=True)
def _bucket(disp, n_p, cell_p, inv_cell_m, n_m, nchunks, off):
    n = disp.shape[1]
    width = n_m // nchunks
    chunk = np.empty(n, dtype=np.int32)
    counts = np.zeros(nchunks + 1, dtype=np.int64)
    for i in range(n):
        u = _mesh_coord(i, 0, disp, n_p, cell_p, inv_cell_m, n_m, off)
        c = min(int(u) // width, nchunks - 1)
        chunk[i] = c
        counts[c + 1] += 1
    starts = np.cumsum(counts)
    fill = starts[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        c = chunk[i]
        order[fill[c]] = i
        fill[c] += 1
    return order, starts


@njit(cache=True, parallel=True)
def _paint_chunks(disp, n_p, cell_p, inv_cell_m, mesh, weight, order, starts, parity, offx, offy, offz):
    n_m = mesh.shape[0]
    nchunks = starts.shape[0] - 1
    for h in prange(nchunks // 2):
        c = 2 * h + parity
        for t in range(starts[c], starts[c + 1]):
            i = order[t]
            ux = _mesh_coord(i, 0, disp, n_p, cell_p, inv_cell_m, n_m, offx)
            uy = _mesh_coord(i, 1, disp, n_p, cell_p, inv_cell_m, n_m, offy)
            uz = _mesh_coord(i, 2, disp, n_p, cell_p, inv_cell_m, n_m, offz)
            ix, iy, iz = int(ux), int(uy), int(uz)
            fx, fy, fz = ux - ix, uy - iy, uz - iz
            ix1, iy1, iz1 = (ix + 1) % n_m, (iy + 1) % n_m, (iz + 1) % n_m
            gx, gy, gz = 1.0 - fx, 1.0 - fy, 1.0 - fz
            mesh[ix, iy, iz] += weight * gx * gy * gz
            mesh[ix, iy, iz1] += weight * gx * gy * fz
            mesh[ix, iy1, iz] += weight * gx * fy * gz
            mesh[ix, iy1, iz1] += weight * gx * fy * fz
            mesh[ix1, iy, iz] += weight * fx * gy * gz
            mesh[ix1, iy, iz1] += weight * fx * gy * fz
            mesh[ix1, iy1, iz] += weight * fx * fy * gz
            mesh[ix1, iy1, iz1] += weight * fx * fy * fz


def paint_lattice(disp: np.ndarray, n_p: int, box_size: float, mesh: np.ndarray, weight: float = 1.0,
                  *, offset: float = LATTICE_OFFSET, accumulate: bool = False) -> np.ndarray:
    """CIC-paint lattice particles displaced by ``disp`` onto ``mesh``, in place.

    Parameters
    ----------
    disp : ndarray, float32, shape (3, n_p**3)
        Displacements in Mpc/h from the lattice ``(i + offset) box_size/n_p``.
    n_p : int
        Particles per side.
    box_size : float
        Box side in Mpc/h.
    mesh : ndarray, float32, shape (n, n, n)
        Output grid.
    weight : float
        Mass given to each particle (e.g. ``(n/n_p)**3`` makes the mean 1).
    offset : float or tuple of 3 floats
        Lattice offset in particle spacings, one for all axes or one per axis (the simulation's
        particles use 1/4).
    accumulate : bool
        Add to ``mesh`` instead of zeroing it first.

    Returns
    -------
    ndarray
        ``mesh``.
    """
    n_m = mesh.shape[0]
    cell_p = box_size / n_p
    inv_cell_m = n_m / box_size
    nch = n_chunks(n_m)
    offs = tuple(float(o) for o in np.broadcast_to(np.asarray(offset, dtype=np.float64), (3,)))
    order, starts = _bucket(disp, n_p, cell_p, inv_cell_m, n_m, nch, offs[0])
    if not accumulate:
        mesh[...] = 0.0
    for parity in (0, 1):
        _paint_chunks(disp, n_p, cell_p, inv_cell_m, mesh, float(weight), order, starts, parity, *offs)
    return mesh


@njit(cache=True, parallel=True)
def _readout_kick(disp, n_p, cell_p, inv_cell_m, field, out, factor):
    n_m = field.shape[0]
    n = disp.shape[1]
    for i in prange(n):
        ux = _mesh_coord(i, 0, disp, n_p, cell_p, inv_cell_m, n_m, LATTICE_OFFSET)
        uy = _mesh_coord(i, 1, disp, n_p, cell_p, inv_cell_m, n_m, LATTICE_OFFSET)
        uz = _mesh_coord(i, 2, disp, n_p, cell_p, inv_cell_m, n_m, LATTICE_OFFSET)
        ix, iy, iz = int(ux), int(uy), int(uz)
        fx, fy, fz = ux - ix, uy - iy, uz - iz
        ix1, iy1, iz1 = (ix + 1) % n_m, (iy + 1) % n_m, (iz + 1) % n_m
        gx, gy, gz = 1.0 - fx, 1.0 - fy, 1.0 - fz
        v = (field[ix, iy, iz] * gx * gy * gz + field[ix, iy, iz1] * gx * gy * fz
             + field[ix, iy1, iz] * gx * fy * gz + field[ix, iy1, iz1] * gx * fy * fz
             + field[ix1, iy, iz] * fx * gy * gz + field[ix1, iy, iz1] * fx * gy * fz
             + field[ix1, iy1, iz] * fx * fy * gz + field[ix1, iy1, iz1] * fx * fy * fz)
        out[i] += factor * v


def readout_kick(disp: np.ndarray, n_p: int, box_size: float, field: np.ndarray, out: np.ndarray,
                 factor: float = 1.0) -> np.ndarray:
    """CIC-interpolate ``field`` at the particles and add ``factor ×`` it to ``out`` (in place).

    With ``out`` a momentum component this is the kick; with ``out`` zeroed it is a plain readout.
    """
    _readout_kick(disp, n_p, box_size / n_p, field.shape[0] / box_size, field, out, float(factor))
    return out


@njit(cache=True, parallel=True)
def _force_component(dk, out, kd0, kd1, kd2, k0, k1, k2, w0, w1, w2, axis, scale):
    n0, n1, n2 = dk.shape
    for i in prange(n0):
        for j in range(n1):
            for l in range(n2):
                ksq = k0[i] * k0[i] + k1[j] * k1[j] + k2[l] * k2[l]
                if ksq == 0.0:
                    out[i, j, l] = 0.0
                    continue
                if axis == 0:
                    kd = kd0[i]
                elif axis == 1:
                    kd = kd1[j]
                else:
                    kd = kd2[l]
                # F = -∇ ∇⁻² δ  →  F_k = i k δ_k / k², divided by the mass-assignment windows.
                g = scale * kd / (ksq * w0[i] * w1[j] * w2[l])
                v = dk[i, j, l]
                out[i, j, l] = complex(-g * v.imag, g * v.real)


def force_component(dk: np.ndarray, out: np.ndarray, axis: int, box_size: float, deconvolve: int = 0) -> np.ndarray:
    """Fourier-space force ``i k_axis δ_k / k²`` of an rfft half-space, written into ``out``.

    Parameters
    ----------
    dk : ndarray, complex64, shape (n, n, n//2+1)
        Unnormalised ``rfftn`` of δ.
    out : ndarray, complex64, same shape
        Destination (may not alias ``dk``).
    axis : int
        Force component.
    box_size : float
        Box side in Mpc/h.
    deconvolve : int
        Power of the CIC window W(k) = Π sinc²(k_i Δ/2) divided out (0 none, 1 paint, 2 paint + readout).

    Returns
    -------
    ndarray
        ``out``, scaled by 1/n³ so that an unnormalised inverse FFT gives the force in Mpc/h.
    """
    n = dk.shape[0]
    kf = 2.0 * np.pi / box_size
    kfull = np.fft.fftfreq(n, 1.0 / n) * kf
    khalf = np.arange(n // 2 + 1) * kf
    # The Nyquist mode's derivative has no real counterpart: zero it so the force field stays real.
    kd_full = kfull.copy()
    kd_full[n // 2] = 0.0
    kd_half = khalf.copy()
    kd_half[n // 2] = 0.0
    cell = box_size / n

    def win(k):
        return np.sinc(k * cell / (2.0 * np.pi)) ** (2 * deconvolve)

    _force_component(dk, out, kd_full, kd_full, kd_half, kfull, kfull, khalf,
                     win(kfull), win(kfull), win(khalf), int(axis), 1.0 / n**3)
    return out


@njit(cache=True, parallel=True)
def _axpy(y, x, a):
    for d in range(y.shape[0]):
        for i in prange(y.shape[1]):
            y[d, i] += a * x[d, i]


def axpy(y: np.ndarray, x: np.ndarray, a: float) -> np.ndarray:
    """``y += a x`` in place without a temporary (drift of all particles)."""
    _axpy(y, x, float(a))
    return y
