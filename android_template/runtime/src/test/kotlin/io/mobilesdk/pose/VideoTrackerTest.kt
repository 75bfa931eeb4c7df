package io.mobilesdk.pose

import io.mobilesdk.pose.internal.NativeCore
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.GraphicsMode

/** The tracker's state machine on hand-made results (the end-to-end test runs it on a real model). */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class VideoTrackerTest {
    private val k = 17

    /** A result with keypoints on a 100 x 200 box at (x, y) with [score] each. */
    private fun result(x: Float, y: Float, score: Float = 0.5f, visible: Int = k): FloatArray {
        val out = FloatArray(NativeCore.resultSize(k))
        for (j in 0 until k) {
            out[4 * j] = x + (j % 2) * 100f
            out[4 * j + 1] = y + (j * 200f / (k - 1))
            out[4 * j + 3] = if (j < visible) score else 0f
        }
        out[4 * k] = (0 until k).map { out[4 * it + 3] }.average().toFloat()
        return out
    }

    @Test
    fun followsSmoothsPredictsAndReacquires() {
        val t = VideoTracker(TrackingOptions(), k, minKeypointScore = 0.1f)
        // frames 33 ms apart
        assertNull("the first frame is searched whole", t.roi(640, 480, 0))
        assertTrue(t.update(result(200f, 100f), 640, 480, 0))
        // observed: the 100 x 200 joints box * 1.25 = 125 x 250, centred at (250, 200)
        assertArrayEquals(floatArrayOf(187.5f, 75f, 312.5f, 325f), t.roi(640, 480, 33), 1e-3f)
        assertTrue(t.update(result(260f, 100f), 640, 480, 33))
        // residual 60 px: the centre moves 0.8 of it (to 298), the velocity takes 0.4 of it per 33 ms (24 px
        // per frame), and the next ROI sits at the centre predicted 33 ms later: 298 + 24
        val r = t.roi(640, 480, 66)!!
        assertEquals(322f, (r[0] + r[2]) / 2, 1e-3f)
        assertEquals(125f, r[2] - r[0], 1e-3f)
        assertEquals("a frame dropped: two periods of motion", 346f, t.roi(640, 480, 99)!!.let { (it[0] + it[2]) / 2 }, 1e-3f)
        assertFalse("a frame without a person loses it", t.update(result(0f, 0f, score = 0.01f), 640, 480, 66))
        assertNull(t.roi(640, 480, 99))
        assertTrue(t.update(result(400f, 50f), 640, 480, 99))
        assertArrayEquals("re-acquired without the old velocity", floatArrayOf(387.5f, 25f, 512.5f, 275f), t.roi(640, 480, 132), 1e-3f)
        t.reset()
        assertNull(t.roi(640, 480, 165))
    }

    /**
     * A figure moving 6 px per 33 ms. An alpha-beta filter has no steady-state error on constant velocity,
     * so after 30 frames the predicted box sits on the figure (< 0.1 px). Frames then stop arriving
     * regularly (LIVE_STREAM drops, a variable frame rate): because the velocity is per millisecond, the box
     * predicted for any later time is still on the figure; a per-frame velocity would be a whole frame of
     * motion (6 px) behind after one dropped frame.
     */
    @Test
    fun droppedFramesAndVariableRatesKeepThePredictionOnTheMotion() {
        val t = VideoTracker(TrackingOptions(), k, minKeypointScore = 0.1f)
        val speed = 6.0 / 33 // px per ms
        fun centre(ms: Long) = 100 + speed * ms + 50 // the joints box is 100 px wide from x
        var ms = 0L
        repeat(30) {
            t.update(result((100 + speed * ms).toFloat(), 100f), 640, 480, ms)
            ms += 33
        }
        for (gap in listOf(66L, 99L, 20L, 50L, 33L)) { // one and two frames dropped, then a faster and a slower rate
            val r = t.roi(640, 480, ms)!!
            assertEquals("predicted $gap ms ahead", centre(ms), ((r[0] + r[2]) / 2).toDouble(), 0.1)
            t.update(result((100 + speed * ms).toFloat(), 100f), 640, 480, ms)
            ms += gap
        }
    }

    @Test
    fun tooFewVisibleKeypointsIsLossAndBoxesAreClamped() {
        val t = VideoTracker(TrackingOptions(), k, minKeypointScore = 0.1f)
        assertFalse(t.update(result(10f, 10f, visible = 4), 640, 480, 0)) // fewer than max(3, 17 / 3) = 5
        assertTrue(t.update(result(560f, 300f, visible = 17), 640, 480, 33))
        val r = t.roi(640, 480, 66)!!
        assertEquals(640f, r[2], 1e-3f)
        assertEquals(480f, r[3], 1e-3f)
        assertTrue(r[0] >= 0 && r[1] >= 0)
        assertNull("another frame size resets", t.roi(480, 640, 99))
    }
}
