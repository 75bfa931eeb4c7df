package io.mobilesdk.pose

import android.graphics.RectF

/**
 * One keypoint in upright-frame pixels (the bitmap's pixels for `estimate(bitmap)`; the frame after
 * `rotationDegrees` for camera frames, and for an `Image` its visible `cropRect` region — see
 * [PoseEstimator]), index convention: pixel (row i, column j) is the point x = j, y = i.
 *
 * [z] is the depth of 3-D models (integral-3d codec) in output-grid units (0 ..< depth bins; nearer is
 * smaller), null for 2-D models. [score] is the codec's raw confidence, whose scale depends on the model
 * (SimCC: softmax probability of the peak bin; heatmap: peak height; integral-3d: peak of the 2-D marginal).
 *
 * [visibility] is the calibrated probability, in [0, 1], that the keypoint is visible (inside the crop and not
 * occluded): a monotone map of [score] with one meaning for every codec ([VisibilityCalibration]), so one
 * threshold works for every model — [PoseEstimator.minKeypointScore], 0.5 by default, applies to it.
 *
 * [normalizedX], [normalizedY]: the same point relative to the upright frame, `(x + 0.5) / width` and
 * `(y + 0.5) / height` — the frame's outer edges are 0 and 1 (pixel centres lie strictly inside), so
 * `normalizedX * viewWidth` places the point on a view showing the whole frame at any size. A keypoint the
 * model puts outside the frame has a value outside [0, 1] (not clamped). With [PoseEstimator.Options.mirror]
 * both pixel and normalized coordinates are in the mirrored frame.
 */
data class Keypoint(
    val name: String,
    val x: Float,
    val y: Float,
    val z: Float?,
    val score: Float,
    val normalizedX: Float,
    val normalizedY: Float,
    val visibility: Float,
)

/**
 * A keypoint of one model by index and name: the generated facades' `Keypoint` enums implement it, so
 * `pose[MoveposeXs.Keypoint.LEFT_WRIST]` is checked at compile time ([Pose.get]).
 */
interface KeypointId {
    /** Index in the model's keypoint order ([ModelSpec.keypointNames]). */
    val index: Int

    /** The manifest's keypoint name. */
    val keypointName: String
}

/** A skeleton edge (limb) between two keypoints, by name, as the manifest lists it. */
data class SkeletonEdge(val from: String, val to: String)

/**
 * One person.
 *
 * @property keypoints every keypoint of the model, in the model's order (see [ModelSpec.keypointNames]).
 * @property score mean of the keypoint scores (the native core's pose score).
 * @property box bounding box of the keypoints whose visibility is at least the estimator's minKeypointScore,
 *   in upright-frame pixels; null when none is.
 */
data class Pose(val keypoints: List<Keypoint>, val score: Float, val box: RectF?) {
    /** The keypoint called [name]; an unknown name throws [IllegalArgumentException] listing the valid ones. */
    operator fun get(name: String): Keypoint =
        getOrNull(name) ?: throw IllegalArgumentException(
            "unknown keypoint '$name'; this model has: ${keypoints.joinToString(", ") { it.name }}"
        )

    /**
     * The keypoint [id] (a generated facade's `Keypoint` constant): by index, no name lookup. An [id] of
     * another model (index out of range or another name there) throws [IllegalArgumentException].
     */
    operator fun get(id: KeypointId): Keypoint {
        val k = keypoints.getOrNull(id.index)
        require(k != null && k.name == id.keypointName) {
            "keypoint ${id.keypointName} (index ${id.index}) is not this model's (it has ${keypoints.joinToString(", ") { it.name }})"
        }
        return k
    }

    /** The keypoint called [name], or null when the model has none of that name. */
    fun getOrNull(name: String): Keypoint? {
        for (k in keypoints) if (k.name == name) return k
        return null
    }

    /** The keypoints whose [Keypoint.visibility] is at least [minVisibility] (default 0.5, as the estimator's). */
    @JvmOverloads
    fun visible(minVisibility: Float = VisibilityCalibration.DEFAULT_THRESHOLD): List<Keypoint> =
        keypoints.filter { it.visibility >= minVisibility }

    /** The skeleton's limbs as keypoint pairs (for drawing), e.g. `pose.limbs(estimator.skeleton)`. */
    fun limbs(skeleton: List<SkeletonEdge>): List<Pair<Keypoint, Keypoint>> =
        skeleton.mapNotNull { e -> getOrNull(e.from)?.let { a -> getOrNull(e.to)?.let { b -> a to b } } }
}

/**
 * Wall-clock milliseconds of one `estimate` call: frame -> model input, the model itself, outputs -> keypoints
 * in the frame, and the whole call (including argument checks, pixel copies and result objects).
 */
data class Timings(val preprocessMs: Float, val inferenceMs: Float, val decodeMs: Float, val totalMs: Float)

/**
 * The result of one `estimate` call.
 *
 * @property poses the people found: one for these single-person (top-down) models, or none when
 *   [PoseEstimator.Options.minPoseScore] is set and the pose scored below it.
 * @property timings where the time went.
 * @property roi the region the model looked at, in upright-frame pixels: the caller's ROI, the video tracker's
 *   box, or null for the whole frame.
 * @property timestampMs the frame's timestamp in VIDEO and LIVE_STREAM modes (null in IMAGE mode).
 * @property droppedFrames LIVE_STREAM: frames dropped since the previous result (each replaced by a newer one
 *   while a frame was in flight; their timestamps lie between the two results'); 0 otherwise.
 */
data class PoseResult(
    val poses: List<Pose>,
    val timings: Timings,
    val roi: RectF? = null,
    val timestampMs: Long? = null,
    val droppedFrames: Int = 0,
)
