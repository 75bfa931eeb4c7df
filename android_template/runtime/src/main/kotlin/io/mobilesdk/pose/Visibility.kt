package io.mobilesdk.pose

import kotlin.math.exp
import kotlin.math.ln

/**
 * How a model's raw keypoint score becomes [Keypoint.visibility]: the calibrated probability that the keypoint
 * is visible (inside the crop and not occluded), with one meaning for every codec, so one threshold
 * ([DEFAULT_THRESHOLD], 0.5: "more likely visible than not") works for every model.
 *
 * `visibility = 1 / (1 + exp(-(a * ln(score) + b)))` for score > 0, and 0 for score <= 0 — a logistic
 * regression on the log-score, computed in double, the same map as the Python reference
 * (mobilesdk/codecs/visibility.py) and the native core (visibility.h). [a] > 0, so visibility grows with the
 * score. [a] and [b] come from the manifest's `codec.visibility`; a manifest without it gets [defaultFor] its
 * codec, fitted by mobilesdk on its trained test fixtures (SimCC, integral-3d) or derived from the codec's
 * math (heatmaps, raw SimCC). Those defaults describe small synthetic-data models: a model trained on real
 * data should ship its own `codec.visibility`, fitted the same way on labelled images.
 */
data class VisibilityCalibration(val a: Double, val b: Double) {
    init {
        require(a.isFinite() && a > 0 && b.isFinite()) { "visibility calibration needs a finite a > 0 and a finite b, got a=$a b=$b" }
    }

    /** The visibility of a raw [score], in [0, 1]. */
    fun visibility(score: Double): Double = if (!(score > 0.0)) 0.0 else 1.0 / (1.0 + exp(-(a * ln(score) + b)))

    /**
     * The raw score at which visibility reaches [threshold]: `visibility(s) >= threshold` exactly when
     * `s >= scoreAt(threshold)` (up to rounding at the boundary). -infinity for threshold <= 0 (every score counts),
     * +infinity for threshold >= 1.
     */
    fun scoreAt(threshold: Double): Double = when {
        threshold <= 0.0 -> Double.NEGATIVE_INFINITY
        threshold >= 1.0 -> Double.POSITIVE_INFINITY
        else -> exp((ln(threshold / (1.0 - threshold)) - b) / a)
    }

    companion object {
        /** The visibility at and above which a keypoint counts as visible by default, for every model. */
        const val DEFAULT_THRESHOLD = 0.5f

        /** SimCC softmax scores: fitted on movepose-xs-128 (mobilesdk/codecs/visibility.json). */
        @JvmField val SIMCC = VisibilityCalibration(3.2121090384385904, 11.40828314635522)

        /** integral-3d: fitted on mobilehumanpose-xs-128 (mobilesdk/codecs/visibility.json). */
        @JvmField val INTEGRAL_3D = VisibilityCalibration(1.4610827677226144, 4.276683664957687)

        /** Heatmap peaks and raw SimCC peaks: derived, a = 4, b = 4 ln 2 (visibility 0.5 at a peak of 0.5). */
        @JvmField val HEATMAP = VisibilityCalibration(4.0, 2.772588722239781)

        /** The calibration of a manifest without `codec.visibility`. */
        @JvmStatic
        fun defaultFor(codec: CodecSpec): VisibilityCalibration = when (codec.name) {
            "simcc" -> if (codec.params["normalize"] == false) HEATMAP else SIMCC
            "integral-3d" -> INTEGRAL_3D
            else -> HEATMAP
        }
    }
}
