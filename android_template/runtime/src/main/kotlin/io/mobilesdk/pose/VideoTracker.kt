package io.mobilesdk.pose

import kotlin.math.max
import kotlin.math.min

/**
 * The person-box tracker of [RunningMode.VIDEO] and [RunningMode.LIVE_STREAM]: the ROI of frame t + 1 comes from the keypoints of frame t, so a top-down
 * model keeps seeing the person at the scale it was trained on while they move, without a detector.
 *
 * Per frame, after a pose is estimated:
 * 1. the pose is *lost* when fewer than [minVisibleKeypoints] keypoints reach the minimum keypoint score, or
 *    the pose score (mean keypoint score) is below [minPoseScore]; then the tracker forgets the box and the
 *    next frame is searched whole (re-acquisition);
 * 2. otherwise the observed box is the bounding box of the visible keypoints, grown about its centre by
 *    [boxScale] and to at least [minBoxFraction] of the frame's shorter side;
 * 3. it updates an alpha-beta filter of the box centre in time (centre, and velocity in px per millisecond
 *    from the frames' timestamps): the residual between the observed centre and the one predicted for this
 *    frame's time moves the centre by [centerResponse] of it and the velocity by [velocityResponse] of it
 *    divided by the time since the previous tracked frame; the size moves [sizeResponse] of the way to the
 *    observed size;
 * 4. the next frame's ROI is the box at the centre predicted for that frame's time (centre + velocity x
 *    elapsed ms, the elapsed time capped at [maxPredictionMs]), clamped to the frame; a box that no longer
 *    overlaps the frame counts as lost.
 *
 * With frames at a constant period this is the per-frame alpha-beta filter; because velocity is per
 * millisecond, a dropped frame (LIVE_STREAM) or a variable frame rate keeps the prediction on the motion.
 *
 * A change of the upright frame size (rotation, another camera resolution) resets the tracker.
 *
 * Why these defaults: [boxScale] 1.25 turns the joints' box into about a person detector's box (joints stop
 * short of the head top and the soles; MediaPipe grows its landmark ROI by the same 1.25), and `affine`
 * models then pad it by the manifest's roi_padding (1.25, MMPose/HRNet), so the crop spans ~1.5x the joints
 * and a person moving a quarter of their size between frames is still inside it. The centre follows quickly
 * (0.8) because a late centre cuts limbs off; the velocity term (0.4, below the critically damped
 * alpha-beta value of ~0.53 for 0.8 to limit overshoot when someone stops) removes the lag a constant motion
 * would otherwise leave — top-down models also pull keypoints towards the crop centre, which slows a
 * position-only tracker further. The size moves slowly (0.5) because per-frame zoom jitter from noisy end
 * joints changes the model's input scale and costs more accuracy than a slightly late zoom. The minimum box
 * (10 % of the shorter side) keeps a collapsed box (few joints visible) from zooming into noise. A third of
 * the joints (5 of COCO's 17) is the fewest that still outline a body; a pose score at half the visibility
 * threshold means most joints are noise. Both are lenient on purpose: a false loss costs one whole-frame
 * search, a missed loss keeps a box on the background until the keypoints fall apart. [maxPredictionMs] 250:
 * past a quarter second without a frame (a stalled stream) extrapolating a velocity misplaces the box more
 * than it helps, so the box waits at the last predicted place.
 *
 * Models whose training crops frame people more loosely than a detector box (e.g. synthetic figures that
 * fill an image) track better with a larger [boxScale].
 */
data class TrackingOptions(
    val boxScale: Float = 1.25f,
    val centerResponse: Float = 0.8f,
    val velocityResponse: Float = 0.4f,
    val sizeResponse: Float = 0.5f,
    val minBoxFraction: Float = 0.1f,
    /** Null: max(3, K / 3), i.e. 5 of COCO's 17 keypoints. */
    val minVisibleKeypoints: Int? = null,
    /** Null: half the estimator's minimum keypoint score. */
    val minPoseScore: Float? = null,
    val maxPredictionMs: Long = 250,
) {
    init {
        require(boxScale.isFinite() && boxScale >= 1f) { "boxScale $boxScale must be >= 1" }
        require(centerResponse > 0f && centerResponse <= 1f) { "centerResponse $centerResponse must be in (0, 1]" }
        require(velocityResponse >= 0f && velocityResponse <= 1f) { "velocityResponse $velocityResponse must be in [0, 1]" }
        require(sizeResponse > 0f && sizeResponse <= 1f) { "sizeResponse $sizeResponse must be in (0, 1]" }
        require(minBoxFraction > 0f && minBoxFraction <= 1f) { "minBoxFraction $minBoxFraction must be in (0, 1]" }
        require(minVisibleKeypoints == null || minVisibleKeypoints >= 1) { "minVisibleKeypoints must be >= 1" }
        require(minPoseScore == null || minPoseScore.isFinite()) { "minPoseScore must be finite" }
        require(maxPredictionMs >= 0) { "maxPredictionMs $maxPredictionMs must be >= 0" }
    }
}

/** The tracker state machine; the estimator calls it under its lock. */
internal class VideoTracker(
    private val options: TrackingOptions,
    private val numKeypoints: Int,
    private val minKeypointScore: Float,
) {
    private val minVisible = options.minVisibleKeypoints ?: max(3, numKeypoints / 3)
    private val minPoseScore = options.minPoseScore ?: (minKeypointScore / 2)
    private var frameW = -1
    private var frameH = -1
    private var has = false
    private var cx = 0.0
    private var cy = 0.0
    private var vx = 0.0 // px per ms
    private var vy = 0.0
    private var lastMs = 0L // timestamp of the last tracked frame
    private var bw = 0.0
    private var bh = 0.0

    /** Whether a box is being tracked (false: the next frame is searched whole). */
    val isTracking: Boolean get() = has

    fun reset() {
        has = false
    }

    /** Ms of motion to extrapolate from the last tracked frame to [timestampMs]. */
    private fun ahead(timestampMs: Long): Double = (timestampMs - lastMs).coerceIn(0L, options.maxPredictionMs).toDouble()

    /**
     * The ROI for the frame at [timestampMs] of this upright size: the box predicted for that time, clamped to
     * the frame, or null (search it whole).
     */
    fun roi(width: Int, height: Int, timestampMs: Long): FloatArray? {
        if (width != frameW || height != frameH) {
            frameW = width
            frameH = height
            has = false
        }
        if (!has) return null
        val dt = ahead(timestampMs)
        val px = cx + vx * dt
        val py = cy + vy * dt
        val l = max(0.0, px - bw / 2)
        val t = max(0.0, py - bh / 2)
        val r = min(width.toDouble(), px + bw / 2)
        val b = min(height.toDouble(), py + bh / 2)
        if (r - l < 1.0 || b - t < 1.0) {
            has = false
            return null
        }
        return floatArrayOf(l.toFloat(), t.toFloat(), r.toFloat(), b.toFloat())
    }

    /**
     * Feed the result (native layout [out]) of the frame at [timestampMs] (after the previous one); returns
     * whether the pose was kept (not lost).
     */
    fun update(out: FloatArray, width: Int, height: Int, timestampMs: Long): Boolean {
        val k = numKeypoints
        var n = 0
        var l = Double.POSITIVE_INFINITY
        var t = Double.POSITIVE_INFINITY
        var r = Double.NEGATIVE_INFINITY
        var b = Double.NEGATIVE_INFINITY
        for (j in 0 until k) {
            if (!(out[4 * j + 3] >= minKeypointScore)) continue
            val x = out[4 * j].toDouble()
            val y = out[4 * j + 1].toDouble()
            if (!x.isFinite() || !y.isFinite()) continue
            n++
            l = min(l, x); r = max(r, x); t = min(t, y); b = max(b, y)
        }
        val poseScore = out[4 * k]
        if (n < minVisible || !(poseScore >= minPoseScore)) {
            has = false
            return false
        }
        val minSide = options.minBoxFraction * min(width, height).toDouble()
        val ow = max((r - l) * options.boxScale, minSide)
        val oh = max((b - t) * options.boxScale, minSide)
        val ox = (l + r) / 2
        val oy = (t + b) / 2
        if (!has || width != frameW || height != frameH) {
            cx = ox; cy = oy; vx = 0.0; vy = 0.0; bw = ow; bh = oh
            frameW = width
            frameH = height
        } else {
            val dt = ahead(timestampMs)
            val px = cx + vx * dt
            val py = cy + vy * dt
            val rx = ox - px
            val ry = oy - py
            val a = options.centerResponse.toDouble()
            val v = options.velocityResponse.toDouble() / max(1.0, (timestampMs - lastMs).toDouble())
            cx = px + a * rx
            cy = py + a * ry
            vx += v * rx
            vy += v * ry
            val s = options.sizeResponse.toDouble()
            bw += s * (ow - bw)
            bh += s * (oh - bh)
        }
        has = true
        lastMs = timestampMs
        return true
    }
}
