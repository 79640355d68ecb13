"""Charts are real PNG files of the expected size: on Discord's dark background for Discord,
on a light one with labels readable at 560 px for emails."""

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


def test_email_week_chart_is_light_and_sized_to_be_shown_560_px_wide():
    days = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"]
    data = charts.week_chart(days, [3, 0, 5.5, 2, 7, 1, 0], [2, 1, 3, 4, 6, 0.5, 2],
                             title="Horas en vivo por día", this_label="Esta semana",
                             last_label="La semana anterior")
    assert png_size(data) == (1120, 640)  # twice the 560 px the email shows, for sharpness
    assert corner_pixel(data) == (255, 255, 255)
    assert light_share(data) > 0.6  # mostly light, not a dark chart in a white frame
    # as shown 560 px wide, the smallest text (the legend's) is at least 11 px tall
    shown = charts.EMAIL.shown_px
    assert min(shown(charts.EMAIL.ticks, 560), shown(charts.EMAIL.legend, 560)) >= 11
    # while the Discord theme stays dark
    dark = charts.week_chart(days, [1] * 7, [1] * 7, title="t", this_label="a",
                             last_label="b", theme=charts.DISCORD)
    assert corner_pixel(dark) == (0x31, 0x33, 0x38)


def light_share(data: bytes) -> float:
    """The share of pixels whose luminance is above 0.85."""
    from matplotlib.image import imread
    rgb = imread(io.BytesIO(data), format="png")[..., :3]
    luminance = 0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]
    return float((luminance > 0.85).mean())
