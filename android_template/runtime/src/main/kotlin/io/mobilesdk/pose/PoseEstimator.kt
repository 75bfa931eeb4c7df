package io.mobilesdk.pose

import android.content.Context
import android.graphics.Bitmap
import android.graphics.RectF
import android.media.Image
import io.mobilesdk.pose.internal.Estimators
import java.io.Closeable
import java.io.File
import java.util.concurrent.Executor

/**
 * A pose estimator for one model: frame in, named keypoints in the frame's pixels out.
 *
 * ```
 * val estimator = MoveposeXsPoseEstimator.create(context, PoseEstimator.Options(threads = 4))
 * val result = estimator.estimate(bitmap)
 * val nose = result.poses.first()["nose"]
 * estimator.close()
 * ```
 *
 * Running modes ([Options.runningMode], as MediaPipe's PoseLandmarker): [RunningMode.IMAGE] (default)
 * `estimate(...)`, independent frames; [RunningMode.VIDEO] `estimateForVideo(..., timestampMs)`, tracking and
 * smoothing in time; [RunningMode.LIVE_STREAM] `estimateAsync(..., timestampMs)`, results to
 * [Options.resultListener], latest frame wins. Another mode's method throws [IllegalStateException]; in
 * VIDEO and LIVE_STREAM a timestamp not after the previous frame's throws [IllegalArgumentException] (the
 * frame is not used and the estimator stays usable).
 *
 * Threads: [create] loads and checks the model (file I/O, native code): call it off the main thread (it
 * throws [IllegalStateException] on it). Every other method may be called from any thread. Calls are
 * serialised (one frame at a time per estimator: the engines are not re-entrant), so a second thread waits
 * for the first; use one estimator per thread to run frames in parallel. [close] returns at once, also while
 * a frame is running (that frame finishes and its thread then frees the engine); it is idempotent, and
 * afterwards every `estimate*` throws [IllegalStateException].
 *
 * Errors: bad arguments (recycled, HARDWARE or ALPHA_8 bitmaps, zero sizes, odd YUV sizes, rotations other
 * than 0/90/180/270, plane strides or lengths that do not fit the size, an ROI that is not finite, empty or
 * outside the frame, an Image that is neither YUV_420_888 nor RGBA_8888, a crop rect outside the image)
 * throw [IllegalArgumentException] and leave the estimator usable; model, file and runtime failures throw
 * [PoseException] with a status code.
 *
 * Coordinates: results, ROIs and boxes are in *upright-frame* pixels — the frame after rotating it clockwise
 * by `rotationDegrees` (what the app displays), index convention (pixel row i, column j is (j, i)); each
 * [Keypoint] also has them normalized to [0, 1]. For an [Image] the frame is its visible region
 * (`image.cropRect`, which CameraX's `ImageProxy.cropRect` equals): point (0, 0) is the crop's top-left pixel
 * after rotation, and the upright frame is the crop's size (rotated). YUV_420_888 shares chroma between 2x2
 * pixel blocks, so a YUV crop rect with an odd edge is widened to even (left and top down, right and bottom
 * up, at most one pixel each; within the image, whose size is even) and that widened rect is the frame; RGBA
 * crops are used as they are. With [Options.mirror] x is mirrored and left/right swapped (front cameras).
 *
 * Memory kept between calls (beyond the engine): the model input and outputs, small per-size tables, for
 * bitmaps one `IntArray` of at most [BITMAP_SCRATCH_PIXELS] pixels (larger bitmaps use a temporary array for
 * that call only), and for heap-buffer planes a direct copy as large as the largest such frame (camera
 * `Image` planes are direct and read in place).
 */
interface PoseEstimator : Closeable {
    /** The model's contract (input, outputs, codec, keypoint names, skeleton). */
    val spec: ModelSpec

    val options: Options

    /** "executorch" or "tflite". */
    val engineName: String

    /** Whether pre/post-processing runs in the native core (else in Kotlin). */
    val usesNativeProcessing: Boolean

    /** CPU threads the engine really uses (ExecuTorch's pool is process-wide; see [Options.threads]). */
    val threads: Int

    /** The [Keypoint.visibility] under which a keypoint is not visible ([Options.minKeypointScore], default 0.5). */
    val minKeypointScore: Float

    val keypointNames: List<String> get() = spec.keypointNames

    /**
     * True when the model was built without trained weights (`mobilesdk build` without `--checkpoint`): it
     * runs, but its keypoints are noise. [create] logs a warning (tag "mobilesdk") once per model and process.
     */
    val randomWeights: Boolean get() = spec.randomWeights

    val skeleton: List<SkeletonEdge> get() = spec.skeletonEdges

    /**
     * An upright [bitmap], optionally only [roi]. Configs: ARGB_8888 is read as is (`getPixels`, one copy of
     * its pixels); RGB_565 and RGBA_F16 are converted to 8-bit ARGB by the same `getPixels` call (a per-pixel
     * conversion of the whole bitmap on every call — F16 colours are also converted to sRGB and rounded to 8
     * bits — so prefer ARGB_8888 for a stream); HARDWARE (no CPU pixels) and ALPHA_8 (no colour) throw
     * [IllegalArgumentException].
     */
    fun estimate(bitmap: Bitmap, roi: RectF? = null): PoseResult

    /** A [bitmap] that needs [rotationDegrees] clockwise to be upright; results in the rotated frame. */
    fun estimate(bitmap: Bitmap, rotationDegrees: Int, roi: RectF? = null): PoseResult

    /**
     * A camera frame, e.g. CameraX's `imageProxy.image` with `imageProxy.imageInfo.rotationDegrees`:
     * `ImageFormat.YUV_420_888` (CameraX's default) or `PixelFormat.RGBA_8888` (`OUTPUT_IMAGE_FORMAT_RGBA_8888`:
     * one plane, pixel stride 4, any row stride). Only `image.cropRect` is used, and results are in that
     * region's upright pixels (see [PoseEstimator] for odd YUV crops). The planes are read in place (direct
     * buffers), nothing is kept after the call: the caller may close the image when this returns.
     */
    fun estimate(image: Image, rotationDegrees: Int, roi: RectF? = null): PoseResult

    /** YUV_420_888 planes given directly (the layout of `Image.getPlanes()`). */
    fun estimate(frame: YuvFrame, rotationDegrees: Int, roi: RectF? = null): PoseResult

    /** RGBA_8888 pixels given directly (one plane of R, G, B, A bytes; see [RgbaFrame]). */
    fun estimate(frame: RgbaFrame, rotationDegrees: Int, roi: RectF? = null): PoseResult

    /** An NV21 byte array (Camera1 preview frames, `YuvImage`): width x height Y bytes, then V/U pairs. */
    fun estimateNv21(nv21: ByteArray, width: Int, height: Int, rotationDegrees: Int, roi: RectF? = null): PoseResult

    /** The running mode ([Options.runningMode]). */
    val runningMode: RunningMode get() = options.runningMode

    /**
     * [RunningMode.VIDEO]: an upright video frame shown at [timestampMs] (strictly after the previous frame's;
     * any origin). Frames without [roi] use and update the tracked person box; keypoints are smoothed in
     * time. As `estimate(bitmap)` otherwise.
     */
    fun estimateForVideo(bitmap: Bitmap, timestampMs: Long, roi: RectF? = null): PoseResult

    /** [RunningMode.VIDEO]: a [bitmap] that needs [rotationDegrees] clockwise to be upright. */
    fun estimateForVideo(bitmap: Bitmap, rotationDegrees: Int, timestampMs: Long, roi: RectF? = null): PoseResult

    /** [RunningMode.VIDEO]: a camera or decoder [image] (as `estimate(image, ...)`). */
    fun estimateForVideo(image: Image, rotationDegrees: Int, timestampMs: Long, roi: RectF? = null): PoseResult

    /** [RunningMode.VIDEO]: YUV_420_888 planes. */
    fun estimateForVideo(frame: YuvFrame, rotationDegrees: Int, timestampMs: Long, roi: RectF? = null): PoseResult

    /** [RunningMode.VIDEO]: RGBA_8888 planes. */
    fun estimateForVideo(frame: RgbaFrame, rotationDegrees: Int, timestampMs: Long, roi: RectF? = null): PoseResult

    /** [RunningMode.VIDEO]: an NV21 byte array. */
    fun estimateNv21ForVideo(
        nv21: ByteArray, width: Int, height: Int, rotationDegrees: Int, timestampMs: Long, roi: RectF? = null,
    ): PoseResult

    /**
     * [RunningMode.LIVE_STREAM]: a camera [image] (CameraX: `imageProxy.image`, `imageProxy.imageInfo.rotationDegrees`,
     * a timestamp in ms strictly after the previous frame's, e.g. `imageInfo.timestamp / 1_000_000`).
     *
     * Returns at once: the frame's pixels (its crop) are copied into one of two buffers the estimator keeps and
     * reuses (each the size of the latest frame, reallocated when the frame size changes), so the caller may
     * close the image (the ImageProxy) as soon as this returns. The frame runs when the engine is free; if a
     * frame is already waiting it is dropped and replaced by this one (latest wins; counted in the next
     * result's [PoseResult.droppedFrames]). The result goes to [Options.resultListener], failures of the run to
     * [Options.errorListener].
     *
     * @throws IllegalArgumentException bad frame or ROI (as `estimate`), or [timestampMs] not after the previous frame's.
     * @throws IllegalStateException not in LIVE_STREAM mode, or closed.
     */
    fun estimateAsync(image: Image, rotationDegrees: Int, timestampMs: Long, roi: RectF? = null)

    /** [RunningMode.LIVE_STREAM]: YUV_420_888 planes, copied before returning (see `estimateAsync(image, ...)`). */
    fun estimateAsync(frame: YuvFrame, rotationDegrees: Int, timestampMs: Long, roi: RectF? = null)

    /** [RunningMode.LIVE_STREAM]: RGBA_8888 planes, copied before returning (see `estimateAsync(image, ...)`). */
    fun estimateAsync(frame: RgbaFrame, rotationDegrees: Int, timestampMs: Long, roi: RectF? = null)

    /** [RunningMode.LIVE_STREAM]: a [bitmap]'s pixels, copied before returning (see `estimateAsync(image, ...)`). */
    fun estimateAsync(bitmap: Bitmap, rotationDegrees: Int, timestampMs: Long, roi: RectF? = null)

    /** [RunningMode.LIVE_STREAM]: an NV21 array, copied before returning (see `estimateAsync(image, ...)`). */
    fun estimateNv21Async(nv21: ByteArray, width: Int, height: Int, rotationDegrees: Int, timestampMs: Long, roi: RectF? = null)

    /**
     * VIDEO and LIVE_STREAM: forget the tracked person box and the smoothing state (a new clip, a camera
     * switch); the next frame is searched whole and its keypoints pass unsmoothed. The previous timestamp is
     * kept (timestamps must still increase). No-op in IMAGE mode.
     */
    fun reset()

    /**
     * Releases the engine and native memory; returns at once (does not wait for a running frame: that frame
     * completes — its LIVE_STREAM result is not delivered — and its thread frees the engine). A waiting
     * LIVE_STREAM frame is dropped. Idempotent; afterwards every call but [close] and [reset] throws
     * [IllegalStateException].
     */
    override fun close()

    /** Where pre/post-processing runs. */
    enum class NativeProcessing {
        /** In the native core when `libmobilesdk_pose_jni.so` loads, else in Kotlin (TFLite only). */
        AUTO,

        /** Always native; create() fails when the library does not load. */
        ON,

        /** Always Kotlin (TFLite only: the ExecuTorch engine lives in the native core). */
        OFF,
    }

    /**
     * Estimator options. Defaults suit a phone app; each is documented with why.
     *
     * @property threads CPU threads for inference. 0 (default) lets the engine choose: ExecuTorch uses one
     *   thread per performance core (its default; the pool is process-wide, created by the first estimator
     *   and kept while any is alive), TFLite min(4, available processors) (more rarely helps a small model
     *   and heats the phone).
     * @property minKeypointScore keypoints whose [Keypoint.visibility] is below it are "not visible": excluded
     *   from [Pose.box], from video tracking and from smoothing. Null (default): 0.5
     *   ([ModelSpec.defaultMinKeypointScore]) for every model — visibility is a calibrated probability with one
     *   meaning across codecs. Changed meaning: it used to apply to the raw [Keypoint.score], whose scale
     *   depends on the codec (the old SimCC default was 8/512); a raw-score threshold `s` now reads
     *   `spec.codec.visibilityCalibration.visibility(s)`.
     * @property minPoseScore when set, a pose whose score (mean keypoint score) is below it is dropped and
     *   [PoseResult.poses] is empty ("no person"). Null (default): the pose is always returned — the model
     *   has no person detector, so whether a person is there is the app's call.
     * @property nativeProcessing where pre/post-processing runs (default [NativeProcessing.AUTO]).
     * @property runningMode IMAGE (default), VIDEO or LIVE_STREAM (see [RunningMode]).
     * @property tracking VIDEO and LIVE_STREAM: frames without an ROI use the person box tracked from the
     *   previous frames' keypoints (see [TrackingOptions]); a frame given an ROI by the caller neither uses nor
     *   updates it. Null: every frame is searched whole. Not used in IMAGE mode.
     * @property smoothing VIDEO and LIVE_STREAM: the One Euro filter of the keypoints ([SmoothingOptions]);
     *   null: raw keypoints. Not used in IMAGE mode.
     * @property resultListener LIVE_STREAM (required there, refused in other modes): receives each result.
     * @property errorListener LIVE_STREAM: receives failures of a frame's run (null: they are logged with tag
     *   "mobilesdk" and the stream goes on).
     * @property listenerExecutor LIVE_STREAM: where the listeners run, e.g. `ContextCompat.getMainExecutor(context)`
     *   for UI updates. Results are handed to it in frame order, so a serial executor (the main thread, a
     *   single thread) sees them in order. Null: on the estimator's inference thread (keep the listener short:
     *   the next frame waits for it).
     * @property useXnnpack TFLite: use the XNNPACK CPU delegate (default true; int8 TRANSPOSE_CONV falls
     *   back to the reference kernels in TFLite 2.16).
     * @property modelFile load the model from this file instead of the packaged asset (e.g. downloaded at
     *   run time); it is checked against the spec's SHA-256 when the spec has one.
     * @property mirror front cameras (default false): results in the mirrored upright frame, as a mirrored
     *   preview shows it — x becomes `width - 1 - x` (normalized: `1 - x`), and each keypoint takes its
     *   left/right partner's place by the model's flip pairs ([ModelSpec.flipPairs]), so "left_wrist" is the
     *   wrist on the left of the mirrored picture's person. Boxes and [PoseResult.roi] are mirrored too; a
     *   caller's ROI is given in the mirrored frame as well.
     */
    data class Options(
        val threads: Int = 0,
        val minKeypointScore: Float? = null,
        val minPoseScore: Float? = null,
        val nativeProcessing: NativeProcessing = NativeProcessing.AUTO,
        val runningMode: RunningMode = RunningMode.IMAGE,
        val tracking: TrackingOptions? = TrackingOptions(),
        val smoothing: SmoothingOptions? = SmoothingOptions(),
        val useXnnpack: Boolean = true,
        val modelFile: File? = null,
        val resultListener: ResultListener? = null,
        val errorListener: ErrorListener? = null,
        val listenerExecutor: Executor? = null,
        val mirror: Boolean = false,
    ) {
        init {
            require(threads >= 0) { "threads $threads must be >= 0 (0: the engine's default)" }
            require(minKeypointScore == null || minKeypointScore.isFinite()) { "minKeypointScore must be finite" }
            require(minPoseScore == null || minPoseScore.isFinite()) { "minPoseScore must be finite" }
            if (runningMode == RunningMode.LIVE_STREAM) {
                require(resultListener != null) { "LIVE_STREAM mode needs a resultListener" }
            } else {
                require(resultListener == null && errorListener == null && listenerExecutor == null) {
                    "resultListener, errorListener and listenerExecutor apply to LIVE_STREAM mode only (runningMode is $runningMode)"
                }
            }
        }
    }

    companion object {
        /** The most bitmap pixels whose `getPixels` copy an estimator keeps between calls (8 MB: 1920x1080 fits). */
        const val BITMAP_SCRATCH_PIXELS: Int = 2 * 1024 * 1024

        /**
         * An estimator for the model [spec] describes, loading its asset from the app (ExecuTorch: copied to
         * app storage once; TFLite: memory-mapped, which needs the asset stored uncompressed:
         * `android { androidResources { noCompress += "tflite" } }`). The model's SHA-256 is checked once per
         * installed app version and model file: the verified hash is kept beside the copy (keyed on the file's
         * size and modification time and the app's version), so later creates do not hash it again. An
         * [Options.modelFile] outside the app's private storage is hashed at every create (another app could
         * replace it and keep its size and time).
         *
         * Call it off the main thread: it may copy and hash the model (tens of ms to seconds) and loads the
         * native library. Why it throws there rather than also offering an async factory: apps already have
         * their executor or coroutine scope (`lifecycleScope.launch(Dispatchers.Default) { create(...) }`), and
         * a callback factory would add a second way to receive errors; failing fast on the main thread keeps
         * an ANR out of production.
         *
         * @throws IllegalStateException called on the main (UI) thread.
         * @throws PoseException the native library is missing for the ExecuTorch engine (or for
         *   [NativeProcessing.ON]), the asset is missing, compressed (TFLite) or does not match its hash,
         *   or the model does not match its manifest.
         * @throws IllegalArgumentException an option that does not apply (OFF with ExecuTorch).
         */
        @JvmStatic
        @JvmOverloads
        fun create(context: Context, spec: ModelSpec, options: Options = Options()): PoseEstimator {
            Estimators.checkNotMainThread()
            return Estimators.create(context, spec, options)
        }
    }
}
