"""Tiny, valid images built in code (PNG, JPEG, GIF, BMP) and the header reading that identifies one.

The simulator serves the encoders' output as samples and reads uploads with the inspectors; the smoke
checks (`nimctl/smoketest/media.py`) build their requests with the same encoders. Standard library only.
Each encoder writes a solid-colour image in the simplest form its format allows; the defaults are
32x32 rather than 1x1 because some vision preprocessors cannot tell the channel axis of a 1x1x3
array apart from the spatial ones.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import struct
import zlib

SIDE = 32  # pixels; a multiple of 8 so the default JPEG is whole 8x8 blocks
NVIDIA_GREEN = (118, 185, 0)

# --- encoders ----------------------------------------------------------------------------------


def png(width: int = SIDE, height: int | None = None, rgb: tuple[int, int, int] = NVIDIA_GREEN) -> bytes:
    """An 8-bit RGB PNG (square unless `height` is given): signature, IHDR, one IDAT, IEND."""
    height = width if height is None else height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width  # filter type 0 (none) before each scanline
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # depth 8, colour type 2 (RGB)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg(width: int = SIDE, height: int | None = None) -> bytes:
    """A baseline greyscale JPEG of mid-grey (square unless `height` is given).

    Every 8x8 block has only zero coefficients (mid-grey after the level shift), so the Huffman
    tables need a single symbol each: DC category 0 and the AC end-of-block, both coded as the
    one-bit code "0". The scan is then two zero bits per block, padded with ones.
    """
    height = width if height is None else height
    app0 = _jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    quant = _jpeg_segment(0xDB, b"\x00" + b"\x01" * 64)  # table 0, 8-bit, all ones
    frame = _jpeg_segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")  # 1 component
    one_code_of_length_1 = b"\x01" + b"\x00" * 15  # counts of codes per length 1..16
    dc_table = _jpeg_segment(0xC4, b"\x00" + one_code_of_length_1 + b"\x00")  # class 0 id 0: symbol 0
    ac_table = _jpeg_segment(0xC4, b"\x10" + one_code_of_length_1 + b"\x00")  # class 1 id 0: EOB
    scan_header = _jpeg_segment(0xDA, b"\x01" + b"\x01\x00" + b"\x00\x3f\x00")
    blocks = math.ceil(width / 8) * math.ceil(height / 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)  # pad the last byte with 1-bits, as the standard asks
    scan = int(bits, 2).to_bytes(len(bits) // 8, "big")
    # a 0xFF byte in the scan must be followed by a stuffed 0x00
    scan = scan.replace(b"\xff", b"\xff\x00")
    return b"\xff\xd8" + app0 + quant + frame + dc_table + ac_table + scan_header + scan + b"\xff\xd9"


def gif(width: int = SIDE, height: int | None = None, rgb: tuple[int, int, int] = NVIDIA_GREEN) -> bytes:
    """A GIF89a with a two-colour palette, every pixel colour 0, LZW-compressed."""
    height = width if height is None else height
    palette = bytes(rgb) + b"\x00\x00\x00"
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # global palette of 2 entries
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    min_code_size = 2  # GIF's smallest allowed LZW code size
    data = _lzw(bytes(width * height), min_code_size)
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


# --- inspection --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    format: str  # "PNG", "JPEG", "GIF", or "unknown" (only with SIM_BREAK=image-format)
    width: int | None
    height: int | None

    def describe(self) -> str:
        if self.width is None:
            return "an image in an unrecognised format"
        return f"{_article_for(self.width)} {self.width}x{self.height} {self.format} image"


def _article_for(number: int) -> str:
    """ "an" before numbers read as eight..., eleven... or eighteen... ("an 8x8", "an 11x4")."""
    digits = str(number)
    spoken_as_eleven_or_eighteen = len(digits) % 3 == 2 and digits[:2] in ("11", "18")
    return "an" if digits[0] == "8" or spoken_as_eleven_or_eighteen else "a"


def sniff_image_format(data: bytes) -> str | None:
    """Name of the format from the magic bytes, None if it is not one of the accepted formats."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    return None


def other_format_name(data: bytes) -> str:
    """Best guess at an unsupported format, only to make the error message useful."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith(b"BM"):
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return "unknown"


_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF_MARKERS and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def image_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """(width, height) read from the header, None when the header is truncated or corrupt."""
    if fmt == "PNG" and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if fmt == "GIF" and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if fmt == "JPEG":
        return _jpeg_size(data)
    return None
