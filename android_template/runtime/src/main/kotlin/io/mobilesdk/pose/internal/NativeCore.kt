package io.mobilesdk.pose.internal

import java.nio.ByteBuffer

/**
 * The JNI surface of the native core (`libmobilesdk_pose_jni.so`, android_template/native/src/jni.cpp).
 *
 * This file is the contract between Kotlin and C++: the C++ side registers exactly these functions in
 * `JNI_OnLoad` with `RegisterNatives` (class `io/mobilesdk/pose/internal/NativeCore`), one to one. Everything is
 * validated natively: a bad length, stride, size, rotation, ROI or handle throws [IllegalArgumentException]; a
 * destroyed or unknown handle throws [IllegalStateException]; model, manifest, I/O and runtime failures throw
 * [io.mobilesdk.pose.PoseException] with the native status code. Nothing here crashes the VM.
 *
 * Handles are opaque `Long`s (0 is never valid). A processor handle obtained from [nativeEstimatorProcessor] is
 * borrowed: valid while its estimator lives, and never destroyed by itself.
 *
 * Frames: `format` is one of the FORMAT_ constants (the C API's msdk_pixel_format); planes as the C API
 * describes them (strides in bytes; `Bitmap.getPixels` ints are BGRA8888 in memory, pass their stride in
 * pixels to the `Pixels` variants). `rotation` is the clockwise rotation that makes the frame upright. `roi` is
 * null or `[left, top, right, bottom]` in upright-frame pixels.
 *
 * Results are written into `out` (length >= [resultSize] of the model's K), a flat layout so a call allocates
 * nothing: for keypoint i, `out[4i..4i+3] = x, y, z (NaN for 2-D models), score` in upright-frame pixels; then
 * `out[4K] = pose score`, `out[4K+1 .. 4K+6] = affine A (frame -> model input)`, `out[4K+7 .. 4K+9] =
 * preprocess, inference, decode microseconds`, `out[4K+10+i] = visibility of keypoint i` (the calibrated map of
 * its score, [io.mobilesdk.pose.VisibilityCalibration]; after the older fields, which keep their places).
 */
internal object NativeCore {
    const val FORMAT_RGBA8888 = 2
    const val FORMAT_BGRA8888 = 3
    const val FORMAT_NV21 = 4
    const val FORMAT_YUV_420_888 = 5

    fun resultSize(numKeypoints: Int): Int = 5 * numKeypoints + 10

    /** Where keypoint [j]'s visibility sits in the flat result of a K = [numKeypoints] model. */
    fun visibilityIndex(numKeypoints: Int, j: Int): Int = 4 * numKeypoints + 10 + j

    @JvmStatic external fun nativeVersion(): String

    @JvmStatic external fun nativeHasExecuTorch(): Boolean

    // ---- estimator: ExecuTorch inference + pre/post, all native ----

    /** `manifestJson` null: the program's embedded `mobilesdk_manifest`; `numThreads` 0: the default. */
    @JvmStatic external fun nativeCreateEstimator(modelPath: String, manifestJson: String?, recipe: String?, numThreads: Int): Long

    @JvmStatic external fun nativeDestroyEstimator(handle: Long)

    @JvmStatic external fun nativeEstimatorProcessor(handle: Long): Long

    @JvmStatic external fun nativeEstimatorManifest(handle: Long): String

    @JvmStatic external fun nativeEstimatorThreads(handle: Long): Int

    /** Planes are direct ByteBuffers (zero copy); unused planes are null with strides 0. */
    @JvmStatic external fun nativeEstimate(
        handle: Long, format: Int, width: Int, height: Int, rotation: Int,
        plane0: ByteBuffer, rowStride0: Int, pixelStride0: Int,
        plane1: ByteBuffer?, rowStride1: Int, pixelStride1: Int,
        plane2: ByteBuffer?, rowStride2: Int, pixelStride2: Int,
        roi: FloatArray?, out: FloatArray,
    )

    /** `Bitmap.getPixels` ints (0xAARRGGBB), `stride` in pixels (>= width). */
    @JvmStatic external fun nativeEstimatePixels(
        handle: Long, pixels: IntArray, width: Int, height: Int, stride: Int, rotation: Int,
        roi: FloatArray?, out: FloatArray,
    )

    /** All planes in one array (e.g. NV21 `byte[]`): plane i starts at `offsets[i]`. Arrays of length 3. */
    @JvmStatic external fun nativeEstimateBytes(
        handle: Long, format: Int, data: ByteArray, width: Int, height: Int, rotation: Int,
        offsets: IntArray, rowStrides: IntArray, pixelStrides: IntArray,
        roi: FloatArray?, out: FloatArray,
    )

    // ---- processor: pre/post only (the TFLite engine runs inference in Kotlin) ----

    @JvmStatic external fun nativeCreateProcessor(manifestJson: String, recipe: String?): Long

    @JvmStatic external fun nativeDestroyProcessor(handle: Long)

    @JvmStatic external fun nativeNumKeypoints(processor: Long): Int

    /** Bytes of the model input (`input` buffers must have exactly this capacity). */
    @JvmStatic external fun nativeInputBytes(processor: Long): Int

    /** Float counts of the model outputs, in manifest order. */
    @JvmStatic external fun nativeOutputCounts(processor: Long): IntArray

    /** Frame -> model input written into the direct buffer `input`; the affine A into `affineOut` (6). */
    @JvmStatic external fun nativePreprocess(
        processor: Long, format: Int, width: Int, height: Int, rotation: Int,
        plane0: ByteBuffer, rowStride0: Int, pixelStride0: Int,
        plane1: ByteBuffer?, rowStride1: Int, pixelStride1: Int,
        plane2: ByteBuffer?, rowStride2: Int, pixelStride2: Int,
        roi: FloatArray?, input: ByteBuffer, affineOut: FloatArray,
    )

    @JvmStatic external fun nativePreprocessPixels(
        processor: Long, pixels: IntArray, width: Int, height: Int, stride: Int, rotation: Int,
        roi: FloatArray?, input: ByteBuffer, affineOut: FloatArray,
    )

    /** Raw float32 outputs (direct buffers, native byte order, manifest order) + affine -> `out` as above. */
    @JvmStatic external fun nativeDecode(processor: Long, outputs: Array<ByteBuffer>, affine: FloatArray, out: FloatArray)
}
