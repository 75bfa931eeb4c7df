package io.mobilesdk.pose

import io.mobilesdk.pose.internal.NativeCore
import java.util.Random
import kotlin.math.PI
import kotlin.math.abs
import kotlin.math.sqrt
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * The One Euro filter (Casiez et al., CHI 2012) against its own math on synthetic tracks with Gaussian
 * noise (fixed seeds; the bounds follow from the formulas, with finite-sample margins stated per test).
 */
class SmoothingTest {
    private fun alpha(fc: Double, dt: Double) = 1.0 / (1.0 + 1.0 / (2 * PI * fc * dt))

    private fun rms(a: DoubleArray): Double = sqrt(a.sumOf { it * it } / a.size)

    /**
     * beta = 0: a first-order low-pass at minCutoff. On a still point with white noise of deviation s, the
     * output's deviation is s * sqrt(a / (2 - a)) with a = alpha(minCutoff, period): 0.31 s at 30 fps, 0.41 s
     * at 15 fps (the period comes from the timestamps). 4000 samples, output correlated over ~1/a frames:
     * the measured ratio is within ~4 % (one standard error) of the formula; the test allows 15 %.
     */
    @Test
    fun aStillPointIsLowPassedAsTheFormulaSays() {
        for (periodMs in listOf(33L, 66L)) {
            val filters = OneEuroFilters(SmoothingOptions(minCutoff = 1f, beta = 0f), 1)
            val rnd = Random(7)
            val n = 4000
            val raw = DoubleArray(n) { 2.0 * rnd.nextGaussian() }
            val out = DoubleArray(n) { filters.filter(0, 100 + raw[it], periodMs / 1000.0) - 100 }
            val a = alpha(1.0, periodMs / 1000.0)
            val want = sqrt(a / (2 - a))
            val got = rms(out.copyOfRange(100, n)) / rms(raw.copyOfRange(100, n))
            assertEquals("period $periodMs ms: output/input noise $got vs the formula's $want", 1.0, got / want, 0.15)
        }
    }

    /**
     * Defaults, a keypoint moving at v = 300 px/s with noise of deviation 2 px, 30 fps.
     * - Lag: with cutoff fc the steady lag of a ramp is v / (2 pi fc); fc = minCutoff + beta |speed| >= 1 +
     *   0.05 * 300 = 16 Hz on average (|speed estimate| averages at least v), so the lag is at most 2.98 px
     *   (and always under 1 / (2 pi beta) = 3.18 px). The mean lag over 1000 frames is asserted <= 3.18 px.
     * - Jitter, as the RMS of second differences (zero for the true ramp): the output noise is AR(1) with
     *   coefficient 1 - a, whose second differences have variance s^2 a^2 (2 + a) / (2 - a) against 6 s^2 for
     *   raw input, i.e. a ratio sqrt(a^2 (2 + a) / (3 (2 - a))). The speed estimate's noise (its own
     *   low-pass at 1 Hz: deviation s sqrt(2 a_d^2 / (2 - a_d)) / period = 11 px/s) moves fc by at most
     *   beta * 3 * 11 = 1.6 Hz at 3 deviations, so a <= alpha(16 + 1.6 Hz): ratio <= 0.71. Asserted <= 0.71
     *   + 10 % for the finite sample.
     */
    @Test
    fun aMovingPointHasLessJitterAndBoundedLag() {
        val o = SmoothingOptions()
        val filters = OneEuroFilters(o, 1)
        val rnd = Random(11)
        val dt = 1.0 / 30
        val v = 300.0
        val n = 1000
        val truth = DoubleArray(n) { v * it * dt }
        val raw = DoubleArray(n) { truth[it] + 2.0 * rnd.nextGaussian() }
        val out = DoubleArray(n) { filters.filter(0, raw[it], dt) }
        val from = 60 // past the start-up (the speed filter's time constant is 0.16 s, 5 frames)
        val lag = (from until n).map { truth[it] - out[it] }.average()
        assertTrue("mean lag $lag px", lag > 0 && lag <= 1 / (2 * PI * o.beta))
        fun jitter(x: DoubleArray) = rms(DoubleArray(n - from - 2) { val i = from + 1 + it; x[i + 1] - 2 * x[i] + x[i - 1] })
        val ratio = jitter(out) / jitter(raw)
        val aMax = alpha(1.0 + o.beta * (v + 3 * 11.0), dt)
        val bound = sqrt(aMax * aMax * (2 + aMax) / (3 * (2 - aMax)))
        assertTrue("jitter ratio $ratio vs the bound $bound", ratio <= bound * 1.1)
        assertTrue("the bound means something: $bound", bound < 0.75)
    }

    @Test
    fun optionsAreValidated() {
        for (bad in listOf({ SmoothingOptions(minCutoff = 0f) }, { SmoothingOptions(beta = -1f) }, { SmoothingOptions(derivativeCutoff = Float.NaN) }, { TrackingOptions(maxPredictionMs = -1) })) {
            val e = assertThrows(IllegalArgumentException::class.java) { bad() }
            assertTrue(e.message!!, e.message!!.contains("must be"))
        }
    }

    /** Per keypoint: restarts on a hidden keypoint, on loss and on reset; first values pass through; scores untouched. */
    @Test
    fun keypointsRestartWhenHiddenOrLost() {
        val k = 2
        val s = KeypointSmoother(SmoothingOptions(), k, minKeypointScore = 0.5f)
        fun frame(x0: Float, x1: Float, score1: Float = 0.9f) = FloatArray(NativeCore.resultSize(k)).also {
            it[0] = x0; it[1] = 10f; it[2] = Float.NaN; it[3] = 0.9f
            it[4] = x1; it[5] = 20f; it[6] = Float.NaN; it[7] = score1
        }
        val first = frame(100f, 200f)
        s.apply(first, 0, 640, 480, lost = false)
        assertEquals("the first value passes through", 100f, first[0], 0f)
        val second = frame(110f, 210f)
        s.apply(second, 33, 640, 480, lost = false)
        assertTrue("smoothed: ${second[0]}", second[0] > 100f && second[0] < 110f)
        assertTrue("z of a 2-D model stays NaN", second[2].isNaN())
        assertEquals("scores are not smoothed", 0.9f, second[3], 0f)
        val hidden = frame(120f, 500f, score1 = 0.1f)
        s.apply(hidden, 66, 640, 480, lost = false)
        assertEquals("a hidden keypoint is left as is", 500f, hidden[4], 0f)
        val back = frame(130f, 300f)
        s.apply(back, 99, 640, 480, lost = false)
        assertEquals("and restarts when it is seen again", 300f, back[4], 0f)
        assertTrue(back[0] < 130f)
        s.apply(frame(0f, 0f), 132, 640, 480, lost = true)
        val after = frame(400f, 400f)
        s.apply(after, 165, 640, 480, lost = false)
        assertEquals("loss restarts every keypoint", 400f, after[0], 0f)
        s.reset()
        val reset = frame(50f, 50f)
        s.apply(reset, 198, 640, 480, lost = false)
        assertEquals(50f, reset[0], 0f)
        assertTrue(abs(reset[4] - 50f) == 0f)
    }
}
