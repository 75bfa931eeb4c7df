package io.mobilesdk.pose

import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint

/**
 * Draws a pose (skeleton lines and keypoint dots) on an `android.graphics.Canvas` — a custom View's
 * `onDraw`, a `SurfaceView`, a Bitmap — without Compose or other dependencies.
 *
 * Points are placed by their normalized coordinates, so the overlay fits a view that shows the whole upright
 * frame at any size (`PreviewView` with `ScaleType.FIT_CENTER` and the view's size, or the frame's own size on
 * a Bitmap). For a front camera create the estimator with `Options(mirror = true)`: the points then match the
 * mirrored preview. Only keypoints at or above [minKeypointScore] are drawn, and a limb only when both ends are.
 *
 * ```
 * class OverlayView(context: Context, attrs: AttributeSet?) : View(context, attrs) {
 *     val overlay = PoseOverlay(MoveposeXsPoseEstimator.SPEC) // minKeypointScore = estimator.minKeypointScore
 *     @Volatile var result: PoseResult? = null
 *     override fun onDraw(canvas: Canvas) {
 *         result?.poses?.firstOrNull()?.let { overlay.draw(canvas, it, width.toFloat(), height.toFloat()) }
 *     }
 * }
 * // in the result listener (main executor): overlayView.result = result; overlayView.invalidate()
 * ```
 *
 * Nothing is allocated per call: limbs are resolved to keypoint indices once, the paints are reused.
 * Not thread-safe: draw from one thread (the UI thread).
 *
 * @param spec the model (`estimator.spec` or the facade's `SPEC`): its skeleton gives the limbs.
 * @param minKeypointScore draw keypoints whose [Keypoint.visibility] is at least this (`estimator.minKeypointScore`,
 *   0.5 by default).
 */
class PoseOverlay @JvmOverloads constructor(
    spec: ModelSpec,
    var minKeypointScore: Float = 0f,
) {
    private val from = IntArray(spec.skeleton.size) { spec.skeleton[it].first }
    private val to = IntArray(spec.skeleton.size) { spec.skeleton[it].second }
    private val numKeypoints = spec.numKeypoints

    /** Limbs; change colour or width freely. */
    val linePaint = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        color = Color.GREEN
        strokeWidth = 6f
        style = Paint.Style.STROKE
        strokeCap = Paint.Cap.ROUND
    }

    /** Keypoint dots. */
    val pointPaint = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        color = Color.RED
        style = Paint.Style.FILL
    }

    /** Dot radius in view pixels. */
    var pointRadius = 8f

    /** Draws [pose] on [canvas] for a view [viewWidth] x [viewHeight] pixels showing the whole upright frame. */
    fun draw(canvas: Canvas, pose: Pose, viewWidth: Float, viewHeight: Float) {
        val kps = pose.keypoints
        require(kps.size == numKeypoints) { "the pose has ${kps.size} keypoints, this overlay's model $numKeypoints" }
        for (i in from.indices) {
            val a = kps[from[i]]
            val b = kps[to[i]]
            if (!visible(a) || !visible(b)) continue
            canvas.drawLine(a.normalizedX * viewWidth, a.normalizedY * viewHeight, b.normalizedX * viewWidth, b.normalizedY * viewHeight, linePaint)
        }
        for (j in kps.indices) {
            val k = kps[j]
            if (visible(k)) canvas.drawCircle(k.normalizedX * viewWidth, k.normalizedY * viewHeight, pointRadius, pointPaint)
        }
    }

    private fun visible(k: Keypoint): Boolean = k.visibility >= minKeypointScore && k.normalizedX.isFinite() && k.normalizedY.isFinite()
}
