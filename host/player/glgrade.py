"""GL grading: the 3D LUT applied in a fragment shader by GstGL, for boards with a GPU.

Stock `glshader` samples one texture only, and a 33^3 table is far too big for shader
constants. So the table rides along with each frame: we append LUT_ROWS rows below the
picture that hold the table, 16 bits per value split over two 8-bit texels (hi, lo), and
the shader reads its tetrahedral corners from there. The extra rows are cropped away after
the shader. Because every frame carries the table in effect for it, live grade changes and
crossfades reach the screen on exactly that frame, like the CPU path.

The picture itself is uploaded as 8-bit RGBA: this path suits 8-bit sources (10-bit
sources keep the CPU path). Headless, GstGL needs an EGL device display; Mesa's llvmpipe
provides one, which is what the tests run on.
"""

from __future__ import annotations

import os

import numpy as np

_HEADLESS_ENV = {"GST_GL_PLATFORM": "egl", "GST_GL_WINDOW": "egl-device"}


def use_headless_gl() -> None:
    """Without a desktop, point GstGL at an EGL device (llvmpipe here, the GPU on a board)."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        for k, v in _HEADLESS_ENV.items():
            os.environ.setdefault(k, v)


def lut_rows(width: int, n: int) -> int:
    """Rows needed below a `width`-wide frame for an n^3 table (two texels per entry), even."""
    rows = -(-(2 * n ** 3) // width)
    return rows + rows % 2


def pack(rgb: np.ndarray, table: np.ndarray, out: np.ndarray | None = None,
         captioned: bool = True) -> np.ndarray:
    """RGBA frame with the table (n,n,n,3 indexed [r][g][b], values 0..1) in rows below it.
    rgb may be RGBA: its alpha carries captions to lay over the graded picture (caption_code);
    an RGB frame has none (255). captioned: `out` may hold an earlier frame's captions (False
    spares a 1080p frame 0.6 ms of clearing them)."""
    h, w = rgb.shape[:2]
    n = table.shape[0]
    rows = lut_rows(w, n)
    if out is None or out.shape != (h + rows, w, 4):
        out = np.zeros((h + rows, w, 4), np.uint8)
        out[..., 3] = 255
    out[:h, :, :rgb.shape[2]] = rgb
    if rgb.shape[2] == 3 and captioned:
        out[:h, :, 3] = 255
    # Entry i = r + n*g + n*n*b at texels 2i (high byte) and 2i+1 (low byte).
    v = np.rint(np.clip(table, 0.0, 1.0).transpose(2, 1, 0, 3).reshape(-1, 3) * 65535)
    v = v.astype(np.uint16)
    texels = np.empty((2 * len(v), 3), np.uint8)
    texels[0::2], texels[1::2] = v >> 8, v & 0xFF
    flat = out[h:, :, :3].reshape(-1, 3)
    flat[: len(texels)] = texels
    out[h:, :, :3] = flat.reshape(rows, w, 3)
    return out


def caption_code(alpha: np.ndarray, grey: np.ndarray) -> np.ndarray:
    """A caption's pixels as one alpha byte each (uint8 arrays in, uint8 out): 0..127 the
    cover of a black edge (a letter's outline fading out), 128..254 an opaque grey
    (0..255 in 127 steps: white letters, black outline), 255 no caption. The shader
    decodes it after the grade."""
    cover = np.rint(alpha.astype(np.float32) * (127 / 255))
    solid = 128 + np.rint(grey.astype(np.float32) * (126 / 255))
    return np.where(alpha >= 255, solid, cover).astype(np.uint8)


def fragment_shader(width: int, height: int, n: int) -> str:
    """Tetrahedral interpolation matching OCIO's, reading the packed table (see pack)."""
    total = height + lut_rows(width, n)
    return f"""#version 100
#ifdef GL_ES
precision highp float;
#endif
varying vec2 v_texcoord;
uniform sampler2D tex;
const float N = {float(n)};
const float W = {float(width)};
const float H = {float(height)};
const float T = {float(total)};

vec3 entry(vec3 p) {{
  float i = 2.0 * (p.r + N * p.g + N * N * p.b);
  float yh = floor((i + 0.5) / W);
  float yl = floor((i + 1.5) / W);
  vec3 hi = texture2D(tex, vec2((i - yh * W + 0.5) / W, (H + yh + 0.5) / T)).rgb;
  vec3 lo = texture2D(tex, vec2((i + 1.0 - yl * W + 0.5) / W, (H + yl + 0.5) / T)).rgb;
  return (floor(hi * 255.0 + 0.5) * 256.0 + floor(lo * 255.0 + 0.5)) / 65535.0;
}}

void main() {{
  vec4 src = texture2D(tex, v_texcoord);
  vec3 p = clamp(src.rgb, 0.0, 1.0) * (N - 1.0);
  vec3 b = min(floor(p), vec3(N - 2.0));
  vec3 f = p - b;
  vec3 v1; vec3 v2; vec4 w;
  if (f.r >= f.g) {{
    if (f.g >= f.b) {{
      v1 = vec3(1,0,0); v2 = vec3(1,1,0); w = vec4(1.0-f.r, f.r-f.g, f.g-f.b, f.b);
    }} else if (f.r >= f.b) {{
      v1 = vec3(1,0,0); v2 = vec3(1,0,1); w = vec4(1.0-f.r, f.r-f.b, f.b-f.g, f.g);
    }} else {{
      v1 = vec3(0,0,1); v2 = vec3(1,0,1); w = vec4(1.0-f.b, f.b-f.r, f.r-f.g, f.g);
    }}
  }} else {{
    if (f.b >= f.g) {{
      v1 = vec3(0,0,1); v2 = vec3(0,1,1); w = vec4(1.0-f.b, f.b-f.g, f.g-f.r, f.r);
    }} else if (f.b >= f.r) {{
      v1 = vec3(0,1,0); v2 = vec3(0,1,1); w = vec4(1.0-f.g, f.g-f.b, f.b-f.r, f.r);
    }} else {{
      v1 = vec3(0,1,0); v2 = vec3(1,1,0); w = vec4(1.0-f.g, f.g-f.r, f.r-f.b, f.b);
    }}
  }}
  vec3 c = w.x * entry(b) + w.y * entry(b + v1) + w.z * entry(b + v2) + w.w * entry(b + 1.0);
  float a = floor(src.a * 255.0 + 0.5);  // a caption over the graded picture: caption_code
  float cover = a < 127.5 ? a / 127.0 : (a < 254.5 ? 1.0 : 0.0);
  float grey = a > 127.5 && a < 254.5 ? (a - 128.0) / 126.0 : 0.0;
  gl_FragColor = vec4(mix(c, vec3(grey), cover), 1.0);
}}
"""


def pipeline(width: int, height: int, n: int) -> str:
    """The GStreamer chain for RGBA frames packed by `pack`: upload, grade, download, crop."""
    use_headless_gl()
    return ("glupload ! glcolorconvert ! glshader name=lutshader ! gldownload ! "
            f"videocrop bottom={lut_rows(width, n)}")
