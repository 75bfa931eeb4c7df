package io.mobilesdk.pose

import android.graphics.RectF

/**
 * One keypoint in upright-frame pixels (the bitmap's pixels for `estimate(bitmap)`; the frame after
 * `rotationDegrees` for camera frames), index convention: pixel (row i, column j) is the point x = j, y = i.
 *
 * [z] is the depth of 3-D models (integral-3d codec) in output-grid units (0 ..< depth bins; nearer is
 * smaller), null for 2-D models. [score] is the codec's confidence, whose scale depends on the model (SimCC:
 * softmax probability of the peak bin; heatmap: peak height; integral-3d: peak of the 2-D marginal); compare
 * it with [PoseEstimator.minKeypointScore], not with a fixed number.
 */
data class Keypoint(val name: String, val x: Float, val y: Float, val z: Float?, val score: Float)

/** A skeleton edge (limb) between two keypoints, by name, as the manifest lists it. */
data class SkeletonEdge(val from: String, val to: String)

/**
 * One person.
 *
 * @property keypoints every keypoint of the model, in the model's order (see [ModelSpec.keypointNames]).
 * @property score mean of the keypoint scores (the native core's pose score).
 * @property box bounding box of the keypoints whose score is at least the estimator's minimum keypoint score,
 *   in upright-frame pixels; null when none is.
 */
data class Pose(val keypoints: List<Keypoint>, val score: Float, val box: RectF?) {
    /** The keypoint called [name]; an unknown name throws [IllegalArgumentException] listing the valid ones. */
    operator fun get(name: String): Keypoint =
        getOrNull(name) ?: throw IllegalArgumentException(
            "unknown keypoint '$name'; this model has: ${keypoints.joinToString(", ") { it.name }}"
        )

    /** The keypoint called [name], or null when the model has none of that name. */
    fun getOrNull(name: String): Keypoint? {
        for (k in keypoints) if (k.name == name) return k
        return null
    }

    /** The keypoints whose score is at least [minScore]. */
    fun visible(minScore: Float): List<Keypoint> = keypoints.filter { it.score >= minScore }

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
 */
data class PoseResult(val poses: List<Pose>, val timings: Timings, val roi: RectF? = null)
