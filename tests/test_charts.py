"""Charts are real PNG files of the expected size, on Discord's dark background."""

import io
import struct
import zlib

from bot import charts


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    crc = struct.unpack(">I", data[16 + length:20 + length])[0]
    assert crc == zlib.crc32(data[12:16 + length]), "corrupt IHDR"
    assert data[-12:-4] == b"\x00\x00\x00\x00IEND"
    return width, height


def corner_pixel(data: bytes) -> tuple[int, int, int]:
    from matplotlib.image import imread
    pixel = imread(io.BytesIO(data), format="png")[2, 2]
    return tuple(round(float(c) * 255) for c in pixel[:3])


def test_bar_chart_is_a_png_of_the_expected_size_on_a_dark_background():
    data = charts.bar_chart(["ana", "beatriz 🎉", "carla"], [12.5, 7, 7], title="Horas en vivo",
                            value_label="horas", highlight=1, number=lambda v: f"{v:.1f}")
    assert png_size(data) == (charts.WIDTH, charts.HEIGHT) == (1000, 500)
    assert corner_pixel(data) == (0x31, 0x33, 0x38)


def test_empty_board_still_draws():
    assert png_size(charts.bar_chart([], [], title="t", value_label="v")) == (1000, 500)


def test_dual_chart_for_thirty_days():
    labels = [f"{d:02d}/03" for d in range(1, 31)]
    data = charts.dual_chart(labels, [d % 4 for d in range(30)], [d * 90 for d in range(30)],
                             title="Tus últimos 30 días", bar_label="Horas",
                             line_label="Diamantes", every=5)
    assert png_size(data) == (1000, 500)
    assert corner_pixel(data) == (0x31, 0x33, 0x38)
