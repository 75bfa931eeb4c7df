package io.mobilesdk.pose

import java.nio.ByteBuffer

/**
 * One image plane: bytes of [buffer] from its index 0 (not its position), rows [rowStride] bytes apart,
 * pixels [pixelStride] bytes apart — the layout of `android.media.Image.Plane`.
 */
class ImagePlane(val buffer: ByteBuffer, val rowStride: Int, val pixelStride: Int)

/**
 * A YUV_420_888 frame as stored (before rotation): full-resolution Y and half-resolution U and V planes,
 * each with its own row and pixel stride (planar I420: pixel stride 1; semi-planar NV12/NV21 as most phone
 * cameras deliver: pixel stride 2 with U and V interleaved in one buffer). Width and height must be even.
 * Colour conversion is JFIF (full-range BT.601), what Android cameras produce.
 *
 * Direct buffers are read in place by the native core; heap buffers are copied once per call.
 */
class YuvFrame(val width: Int, val height: Int, val y: ImagePlane, val u: ImagePlane, val v: ImagePlane)

/**
 * An RGBA_8888 frame as stored (before rotation): one plane of R, G, B, A bytes per pixel — the layout of an
 * `android.media.Image` in `PixelFormat.RGBA_8888` (CameraX `OUTPUT_IMAGE_FORMAT_RGBA_8888`) and of
 * `Bitmap.copyPixelsToBuffer` for ARGB_8888 bitmaps. The plane's pixel stride must be 4; its row stride may
 * include padding (>= 4 x width). Alpha is ignored.
 *
 * Direct buffers are read in place (Kotlin and the native core); heap buffers are copied once per call for
 * the native core.
 */
class RgbaFrame(val width: Int, val height: Int, val plane: ImagePlane)
