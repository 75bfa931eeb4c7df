package io.mobilesdk.pose

/**
 * How frames reach an estimator, as MediaPipe's `RunningMode` (IMAGE, VIDEO, LIVE_STREAM): each mode has its
 * own methods, and calling another mode's method throws [IllegalStateException] naming the right one.
 *
 * | mode | methods | MediaPipe PoseLandmarker | state between frames |
 * |---|---|---|---|
 * | [IMAGE] | `estimate(...)` | `detect(image)` | none: every frame is independent |
 * | [VIDEO] | `estimateForVideo(..., timestampMs)` | `detectForVideo(image, timestampMs)` | person box tracking ([TrackingOptions]) and keypoint smoothing ([SmoothingOptions]), both in time |
 * | [LIVE_STREAM] | `estimateAsync(..., timestampMs)` | `detectAsync(image, timestampMs)` + result listener | as VIDEO; results go to [PoseEstimator.Options.resultListener] |
 */
enum class RunningMode {
    /** Independent pictures (gallery, photo): no tracking, no smoothing. */
    IMAGE,

    /**
     * Decoded video frames, one call per frame on the caller's thread, with the frame's presentation time.
     * Timestamps must strictly increase (an equal or older one throws [IllegalArgumentException]); [PoseEstimator.reset]
     * between unrelated clips.
     */
    VIDEO,

    /**
     * A camera stream: `estimateAsync` copies the frame and returns at once; inference runs on the estimator's
     * own thread, one frame at a time. While a frame is in flight, at most one newer frame waits: a newer one
     * replaces it (latest wins) and the replaced frame is dropped, counted in the next result's
     * [PoseResult.droppedFrames]. Timestamps must strictly increase.
     */
    LIVE_STREAM,
}

/**
 * Receives LIVE_STREAM results, in frame order, on [PoseEstimator.Options.listenerExecutor]. Each result has
 * its frame's [PoseResult.timestampMs] and the number of frames dropped since the previous result.
 */
fun interface ResultListener {
    fun onResult(result: PoseResult)
}

/**
 * Receives LIVE_STREAM failures that happen after `estimateAsync` returned (a [PoseException] from the model
 * run), with the frame's timestamp. Bad arguments are thrown by `estimateAsync` itself.
 */
fun interface ErrorListener {
    fun onError(error: RuntimeException, timestampMs: Long)
}
