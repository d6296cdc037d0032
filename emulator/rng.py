"""Deterministic randomness.

Every draw is addressed by (seed, purpose, block) and laid out slot-major, so the values of
slot i never depend on how many slots there are, and one slot's values can be drawn alone by
advancing the generator (PCG64 emits exactly one 64-bit word per float64).
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np

# Purpose tags for SeedSequence keys.
SLOT_DRAWS = 1
FACTOR_DRAWS = 2
ATTRIBUTES = 3
LIFETIMES = 4
SPLITS = 5
SYMBOLS = 6


def generator(seed: int, *keys: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *keys])))


def slot_uniforms(
    seed: int, keys: tuple[int, ...], n_slots: int, per_slot: int, slots: np.ndarray | None = None
) -> np.ndarray:
    """Uniforms shaped (len(slots), per_slot); the row of slot i is the same whoever asks."""
    if slots is None:
        return generator(seed, *keys).random((n_slots, per_slot))
    out = np.empty((len(slots), per_slot))
    for j, slot in enumerate(slots):
        gen = generator(seed, *keys)
        gen.bit_generator.advance(int(slot) * per_slot)
        out[j] = gen.random(per_slot)
    return out


def t4(u: np.ndarray) -> np.ndarray:
    """Student-t (4 degrees of freedom) from uniforms via its closed-form quantile, unit variance."""
    u = np.clip(u, 1e-12, 1 - 1e-12)
    alpha = 4.0 * u * (1.0 - u)
    root = np.sqrt(alpha)
    q = np.cos(np.arccos(root) / 3.0) / root
    x = np.sign(u - 0.5) * 2.0 * np.sqrt(np.maximum(q - 1.0, 0.0))
    return np.clip(x / np.sqrt(2.0), -15.0, 15.0)


def normal(u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    """Box-Muller: one standard normal per pair of uniforms."""
    return np.sqrt(-2.0 * np.log(np.clip(u1, 1e-300, 1.0))) * np.cos(2.0 * np.pi * u2)


def logit(u: np.ndarray, scale: float = 0.5513) -> np.ndarray:
    """Logistic quantile scaled to about unit variance: a cheap, slightly fat-tailed normal."""
    u = np.clip(u, 1e-12, 1 - 1e-12)
    return scale * np.log(u / (1.0 - u))


def hash_u64(seed: int, *parts: object) -> int:
    text = "\x1f".join(str(p) for p in (seed, *parts)).encode()
    return struct.unpack("<Q", hashlib.blake2b(text, digest_size=8).digest())[0]


def hash_uniform(seed: int, *parts: object) -> float:
    return (hash_u64(seed, *parts) >> 11) * (1.0 / (1 << 53))


def hash_hex(seed: int, *parts: object, n_bytes: int = 16) -> str:
    text = "\x1f".join(str(p) for p in (seed, *parts)).encode()
    return hashlib.blake2b(text, digest_size=n_bytes).hexdigest()
