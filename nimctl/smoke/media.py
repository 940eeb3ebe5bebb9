"""Tiny, valid test images built in code, so the smoke checks need neither Pillow nor files.

Each encoder writes a solid-colour square in the simplest form its format allows. The squares are
32x32 rather than 1x1 because some vision preprocessors cannot tell the channel axis of a 1x1x3
array apart from the spatial ones.
"""

from __future__ import annotations

import base64
import struct
import zlib

SIDE = 32  # pixels; a multiple of 8 so the JPEG is whole 8x8 blocks
NVIDIA_GREEN = (118, 185, 0)


def png(side: int = SIDE, rgb: tuple[int, int, int] = NVIDIA_GREEN) -> bytes:
    """An 8-bit RGB PNG: signature, IHDR, one zlib-compressed IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * side  # filter type 0 (none) before each scanline
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # depth 8, colour type 2 (RGB)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * side, 9))
        + chunk(b"IEND", b"")
    )


def jpeg(side: int = SIDE) -> bytes:
    """A baseline greyscale JPEG of mid-grey.

    Every 8x8 block has only zero coefficients (mid-grey after the level shift), so the Huffman
    tables need a single symbol each: DC category 0 and the AC end-of-block, both coded as the
    one-bit code "0". The scan is then two zero bits per block, padded with ones.
    """
    if side % 8:
        raise ValueError("side must be a multiple of 8")

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    quant = segment(0xDB, b"\x00" + b"\x01" * 64)  # table 0, 8-bit, all ones
    frame = segment(0xC0, struct.pack(">BHHB", 8, side, side, 1) + b"\x01\x11\x00")  # 1 component
    one_code_of_length_1 = b"\x01" + b"\x00" * 15  # counts of codes per length 1..16
    dc_table = segment(0xC4, b"\x00" + one_code_of_length_1 + b"\x00")  # class 0 id 0: symbol 0
    ac_table = segment(0xC4, b"\x10" + one_code_of_length_1 + b"\x00")  # class 1 id 0: EOB
    scan_header = segment(0xDA, b"\x01" + b"\x01\x00" + b"\x00\x3f\x00")
    blocks = (side // 8) ** 2
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)
    scan = int(bits, 2).to_bytes(len(bits) // 8, "big")
    # A padded final byte of all ones would be 0xFF, which must be followed by a stuffed 0x00.
    scan = scan.replace(b"\xff", b"\xff\x00")
    return b"\xff\xd8" + quant + frame + dc_table + ac_table + scan_header + scan + b"\xff\xd9"


def gif(side: int = SIDE, rgb: tuple[int, int, int] = NVIDIA_GREEN) -> bytes:
    """A GIF89a with a two-colour palette, every pixel colour 0, LZW-compressed."""
    palette = bytes(rgb) + b"\x00\x00\x00"
    screen = struct.pack("<HHBBB", side, side, 0x80, 0, 0)  # global palette of 2 entries
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, side, side, 0)
    min_code_size = 2  # GIF's smallest allowed LZW code size
    data = _lzw(bytes(side * side), min_code_size)
    sub_blocks = b"".join(bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255))
    return b"GIF89a" + screen + palette + descriptor + bytes([min_code_size]) + sub_blocks + b"\x00\x3b"


def _lzw(pixels: bytes, min_code_size: int) -> bytes:
    """GIF-flavoured LZW: variable-width codes packed least-significant bit first."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    table = {bytes([i]): i for i in range(clear)}
    next_code, width = end + 1, min_code_size + 1
    out, acc, acc_bits = bytearray(), 0, 0

    def emit(code: int) -> None:
        nonlocal acc, acc_bits
        acc |= code << acc_bits
        acc_bits += width
        while acc_bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            acc_bits -= 8

    emit(clear)
    word = b""
    for value in pixels:
        candidate = word + bytes([value])
        if candidate in table:
            word = candidate
            continue
        emit(table[word])
        if next_code < 4096:
            table[candidate] = next_code
            next_code += 1
            # The decoder adds its entries one code later than we do, so it widens its codes
            # when our next code is one past the current width's range.
            if next_code > (1 << width) and width < 12:
                width += 1
        word = bytes([value])
    if word:
        emit(table[word])
    emit(end)
    if acc_bits:
        out.append(acc & 0xFF)
    return bytes(out)


def bmp(side: int = 8) -> bytes:
    """A 24-bit Windows bitmap: a real image, but in a format the NIM does not support."""
    row = bytes(reversed(NVIDIA_GREEN)) * side  # BGR
    row += b"\x00" * (-len(row) % 4)  # rows are padded to 4 bytes
    pixels = row * side
    info = struct.pack("<IiiHHIIiiII", 40, side, side, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    header = b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return header + info + pixels


def data_url(image: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


# The formats NVIDIA's page lists as supported, as (label, MIME type, bytes).
def supported_images() -> list[tuple[str, str, bytes]]:
    return [("PNG", "image/png", png()), ("JPEG", "image/jpeg", jpeg()), ("GIF", "image/gif", gif())]
