package io.mobilesdk.pose

import kotlin.math.abs
import kotlin.math.max

/**
 * Keypoint smoothing in [RunningMode.VIDEO] and [RunningMode.LIVE_STREAM] (never in IMAGE mode): a One Euro
 * filter per keypoint and coordinate — G. Casiez, N. Roussel, D. Vogel, "1€ Filter: A Simple Speed-based
 * Low-pass Filter for Noisy Input in Interactive Systems", CHI 2012, doi:10.1145/2207676.2208639.
 *
 * Per coordinate x with timestamps t (seconds) and period Te = t - t_prev:
 * `alpha(fc) = 1 / (1 + 1 / (2 pi fc Te))`; the speed dx = (x - x_prev) / Te (raw values) is low-passed at
 * [derivativeCutoff]; the value is low-passed at `fc = minCutoff + beta * |speed|`. At rest the cutoff is
 * [minCutoff] (jitter removed); moving fast the cutoff rises and the lag of a constant motion,
 * `speed / (2 pi fc)`, stays under `1 / (2 pi beta)` pixels at any speed. The period comes from the frames'
 * timestamps, so dropped frames and variable frame rates are handled as the paper intends.
 *
 * A keypoint's filter restarts (its next value passes through unchanged) when the keypoint is not visible
 * (score under [PoseEstimator.minKeypointScore]), when the pose is lost (the tracker's loss rule, see
 * [TrackingOptions], or the pose is dropped by [PoseEstimator.Options.minPoseScore]), on
 * [PoseEstimator.reset] and when the frame size changes. Only x and y (and z of 3-D models) are smoothed;
 * scores are left as the model gave them. z (depth bins) uses the higher of its keypoint's x and y cutoffs,
 * so depth follows as fast as the keypoint moves in the image.
 *
 * Why these defaults (coordinates in pixels, speeds in pixels per second, a person some 200-800 px tall at
 * 15-60 fps): [minCutoff] 1 Hz removes the frame-to-frame jitter of a resting joint (at 30 fps it keeps
 * 0.31 of the jitter's standard deviation, the paper's suggested starting point); [beta] 0.05 /px raises the
 * cutoff by 1 Hz per 20 px/s, so a moving joint lags at most 1 / (2 pi 0.05) = 3.2 px, about a keypoint's
 * own error; [derivativeCutoff] 1 Hz as in the paper. For much larger images (4K) scale [beta] down with the
 * person's size; raise [minCutoff] if slow motions look sluggish.
 *
 * @property minCutoff Hz, > 0: the cutoff at rest.
 * @property beta 1/px, >= 0: cutoff increase per px/s of speed (0: a plain low-pass at [minCutoff]).
 * @property derivativeCutoff Hz, > 0: the cutoff of the speed estimate.
 */
data class SmoothingOptions(
    val minCutoff: Float = 1f,
    val beta: Float = 0.05f,
    val derivativeCutoff: Float = 1f,
) {
    init {
        require(minCutoff.isFinite() && minCutoff > 0f) { "minCutoff $minCutoff must be > 0 Hz" }
        require(beta.isFinite() && beta >= 0f) { "beta $beta must be >= 0" }
        require(derivativeCutoff.isFinite() && derivativeCutoff > 0f) { "derivativeCutoff $derivativeCutoff must be > 0 Hz" }
    }
}

/**
 * The One Euro filters of [n] values (keypoint j: x at 3j, y at 3j + 1, z at 3j + 2), arrays allocated once.
 * Not thread-safe: the estimator calls it under its lock.
 */
internal class OneEuroFilters(private val options: SmoothingOptions, private val n: Int) {
    private val value = DoubleArray(n) // filtered value
    private val raw = DoubleArray(n) // previous raw value
    private val speed = DoubleArray(n) // filtered speed, units per second
    private val cutoff = DoubleArray(n) // last cutoff used, Hz
    private val live = BooleanArray(n)

    fun reset() = live.fill(false)

    fun reset(i: Int) {
        live[i] = false
    }

    fun isLive(i: Int): Boolean = live[i]

    /** The cutoff (Hz) the last [filter] of value [i] used (for tests and [filterWithCutoff]). */
    fun lastCutoff(i: Int): Double = cutoff[i]

    /** Value [i] observed [x] a period of [dtSeconds] after the previous one (any period when not live). */
    fun filter(i: Int, x: Double, dtSeconds: Double): Double {
        if (!live[i]) return start(i, x)
        val dx = (x - raw[i]) / dtSeconds
        speed[i] += alpha(options.derivativeCutoff.toDouble(), dtSeconds) * (dx - speed[i])
        return filterWithCutoff(i, x, dtSeconds, options.minCutoff + options.beta * abs(speed[i]))
    }

    /** Value [i] low-passed at a given cutoff (z of 3-D models: its keypoint's x/y cutoff). */
    fun filterWithCutoff(i: Int, x: Double, dtSeconds: Double, fc: Double): Double {
        if (!live[i]) return start(i, x)
        cutoff[i] = fc
        value[i] += alpha(fc, dtSeconds) * (x - value[i])
        raw[i] = x
        return value[i]
    }

    private fun start(i: Int, x: Double): Double {
        value[i] = x
        raw[i] = x
        speed[i] = 0.0
        cutoff[i] = options.minCutoff.toDouble()
        live[i] = true
        return x
    }

    companion object {
        /** Casiez et al.: smoothing factor of a first-order low-pass at cutoff [fc] Hz for a period [dt] s. */
        fun alpha(fc: Double, dt: Double): Double = 1.0 / (1.0 + 1.0 / (2.0 * Math.PI * fc * dt))
    }
}

/** Smooths the keypoints of a result in the native layout (K x (x, y, z, score)) in place. */
internal class KeypointSmoother(options: SmoothingOptions, private val k: Int, private val minKeypointScore: Float) {
    private val filters = OneEuroFilters(options, 3 * k)
    private var lastMs = 0L
    private var hasLast = false
    private var frameW = -1
    private var frameH = -1

    fun reset() {
        filters.reset()
        hasLast = false
    }

    /**
     * The result [out] of the frame at [timestampMs] (strictly after the previous one) of an upright
     * [width] x [height] frame; [lost]: the pose was lost (every filter restarts).
     */
    fun apply(out: FloatArray, timestampMs: Long, width: Int, height: Int, lost: Boolean) {
        if (lost || width != frameW || height != frameH || (hasLast && timestampMs <= lastMs)) filters.reset()
        frameW = width
        frameH = height
        val dt = if (hasLast) max(timestampMs - lastMs, 1L) / 1000.0 else 0.0
        lastMs = timestampMs
        hasLast = true
        if (lost) return
        for (j in 0 until k) {
            val x = out[4 * j]
            val y = out[4 * j + 1]
            val z = out[4 * j + 2]
            if (!(out[4 * j + 3] >= minKeypointScore) || !x.isFinite() || !y.isFinite()) {
                filters.reset(3 * j); filters.reset(3 * j + 1); filters.reset(3 * j + 2)
                continue
            }
            out[4 * j] = filters.filter(3 * j, x.toDouble(), dt).toFloat()
            out[4 * j + 1] = filters.filter(3 * j + 1, y.toDouble(), dt).toFloat()
            if (z.isFinite()) {
                val fc = max(filters.lastCutoff(3 * j), filters.lastCutoff(3 * j + 1))
                out[4 * j + 2] = filters.filterWithCutoff(3 * j + 2, z.toDouble(), dt, fc).toFloat()
            }
        }
    }
}
