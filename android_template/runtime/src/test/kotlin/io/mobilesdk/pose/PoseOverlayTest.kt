package io.mobilesdk.pose

import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import io.mobilesdk.pose.testing.ModelFixture
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.GraphicsMode

/** The Canvas overlay on a real pose, drawn by Android's own graphics (Robolectric native graphics). */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class PoseOverlayTest {
    @Test
    fun drawsVisibleKeypointsAndLimbsWhereTheyAreOnAViewOfAnySize() {
        val f = ModelFixture.load()
        val c = f.case("fig128")
        val pose = f.estimator().use { it.estimate(f.bitmap(c.getString("rgb"), 128, 128)).poses[0] }
        val threshold = pose.keypoints.map { it.visibility }.sorted()[4] // draws 13 of the 17 keypoints
        val overlay = PoseOverlay(f.spec, threshold).apply {
            pointRadius = 2f
            linePaint.strokeWidth = 1f
            linePaint.isAntiAlias = false
            pointPaint.isAntiAlias = false
        }
        val shown = pose.keypoints.filter { it.visibility >= threshold }
        val hidden = pose.keypoints.filter { it.visibility < threshold }
        assertTrue("keypoints to draw and to leave out", shown.size >= 10 && hidden.isNotEmpty())
        for ((w, h) in listOf(128 to 128, 256 to 192)) { // the frame's own size, and a view of another size and shape
            val view = Bitmap.createBitmap(w, h, Bitmap.Config.ARGB_8888)
            overlay.draw(Canvas(view), pose, w.toFloat(), h.toFloat())
            for (k in shown) {
                val x = (k.normalizedX * w).toInt()
                val y = (k.normalizedY * h).toInt()
                assertEquals("${k.name} at ($x, $y) in $w x $h", Color.RED, view.getPixel(x, y))
            }
            for (k in hidden) {
                val x = (k.normalizedX * w).toInt()
                val y = (k.normalizedY * h).toInt()
                if (x in 0 until w && y in 0 until h && shown.none { Math.hypot((it.normalizedX * w - x).toDouble(), (it.normalizedY * h - y).toDouble()) < 4 }) {
                    assertTrue("hidden ${k.name} not drawn", view.getPixel(x, y) != Color.RED)
                }
            }
            val limb = f.spec.skeleton.first { (a, b) -> pose.keypoints[a].visibility >= threshold && pose.keypoints[b].visibility >= threshold }
            val a = pose.keypoints[limb.first]
            val b = pose.keypoints[limb.second]
            val mx = ((a.normalizedX + b.normalizedX) / 2 * w).toInt()
            val my = ((a.normalizedY + b.normalizedY) / 2 * h).toInt()
            val near = (-1..1).flatMap { dx -> (-1..1).map { dy -> view.getPixel(mx + dx, my + dy) } }
            assertTrue("the limb ${a.name}-${b.name} passes its midpoint", Color.GREEN in near || Color.RED in near)
        }
        val e = assertThrows(IllegalArgumentException::class.java) {
            overlay.draw(Canvas(Bitmap.createBitmap(8, 8, Bitmap.Config.ARGB_8888)), Pose(pose.keypoints.take(3), 0f, null), 8f, 8f)
        }
        assertTrue(e.message!!, e.message!!.contains("3 keypoints"))
    }
}
