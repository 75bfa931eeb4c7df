package io.mobilesdk.pose.internal

import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * LIVE_STREAM's frame hand-off: two reusable [FrameCopy] slots and one inference thread. At most one frame is
 * in flight and at most one waits; a new frame takes the slot that is not in flight, replacing (dropping)
 * the waiting frame if there is one. Nothing queues beyond that, so memory is two copies of the latest frame
 * size and a slow engine costs dropped frames, never latency.
 *
 * [submit] is called under [intake] (one caller at a time); the slots and counters are guarded by [state].
 */
internal class LiveStream(
    /** Runs one copied frame (on the inference thread): frame, ROI, timestamp, intake time, copy µs, frames dropped before it. */
    private val process: (Frame, FloatArray?, Long, Long, Long, Int) -> Unit,
) {
    val intake = Any()

    /** The last accepted timestamp (under [intake]). */
    var lastTimestampMs = Long.MIN_VALUE

    private val state = Object()
    private val slots = arrayOf(FrameCopy(), FrameCopy())
    private var pending: FrameCopy? = null
    private var inFlight: FrameCopy? = null
    private var dropped = 0
    private var stopped = false
    private val thread = Thread({ loop() }, "mobilesdk-pose-live").apply { isDaemon = true }

    /** Frames dropped in total (instrumentation for tests). */
    @Volatile
    var droppedTotal = 0L
        private set

    fun start() = thread.start()

    /** Stops taking frames and drops a waiting one; returns at once (a frame in flight completes). */
    fun stop() {
        synchronized(state) {
            stopped = true
            pending = null
            state.notifyAll()
        }
    }

    /** Copies [frame] (validated by the caller) into a free slot and makes it the waiting frame. */
    fun submit(frame: Frame, roi: FloatArray?, timestampMs: Long, t0: Long) {
        val slot: FrameCopy
        synchronized(state) {
            check(!stopped) { "this PoseEstimator is closed" }
            val free = slots.firstOrNull { it !== inFlight && it !== pending }
            slot = free ?: pending!!.also { drop() } // both busy: overwrite the waiting frame
            if (slot === pending) pending = null
        }
        slot.copy(frame, roi, timestampMs, t0)
        synchronized(state) {
            if (stopped) return
            if (pending != null) drop()
            pending = slot
            state.notifyAll()
        }
    }

    private fun drop() {
        dropped++
        droppedTotal++
    }

    private fun loop() {
        while (true) {
            val slot: FrameCopy
            val droppedBefore: Int
            synchronized(state) {
                while (pending == null && !stopped) {
                    try {
                        state.wait()
                    } catch (e: InterruptedException) {
                        return
                    }
                }
                if (stopped) return
                slot = pending!!
                pending = null
                inFlight = slot
                droppedBefore = dropped
                dropped = 0
            }
            try {
                process(slot.frame!!, slot.roi, slot.timestampMs, slot.t0, slot.copyUs, droppedBefore)
            } finally {
                synchronized(state) { inFlight = null }
            }
        }
    }
}

/**
 * A frame copied into memory the estimator owns, so the caller can release theirs (CameraX closes the
 * ImageProxy) as soon as `estimateAsync` returns. Buffers are reused; one is reallocated when a frame needs
 * more, or less than half of it (a large frame is not kept after the stream's size drops). Copies: pixels
 * and RGBA rows as they are (row padding and the crop's outside dropped); YUV into a tight planar I420 layout (Y, U, V; same samples, so the same colours) in a direct
 * buffer the native core reads in place.
 */
internal class FrameCopy {
    var frame: Frame? = null
        private set
    var roi: FloatArray? = null
        private set
    var timestampMs = 0L
        private set
    var t0 = 0L
        private set
    var copyUs = 0L
        private set
    private val roiArray = FloatArray(4)
    private var ints = IntArray(0)
    private var bytes: ByteBuffer = ByteBuffer.allocateDirect(0)

    fun copy(src: Frame, roi: FloatArray?, timestampMs: Long, t0: Long) {
        frame = when (src) {
            is Frame.Pixels -> copyPixels(src)
            is Frame.Yuv -> copyYuv(src)
            is Frame.Rgba -> copyRgba(src)
        }
        this.roi = roi?.let { System.arraycopy(it, 0, roiArray, 0, 4); roiArray }
        this.timestampMs = timestampMs
        this.t0 = t0
        copyUs = (System.nanoTime() - t0) / 1000
    }

    private fun fits(capacity: Int, need: Int) = capacity >= need && capacity / 2 <= need

    private fun copyPixels(src: Frame.Pixels): Frame {
        val w = src.width
        val h = src.height
        if (!fits(ints.size, w * h)) ints = IntArray(w * h)
        for (row in 0 until h) System.arraycopy(src.pixels, row * src.stride, ints, row * w, w)
        return Frame.Pixels(ints, w, h, w, src.rotation)
    }

    private fun copyRgba(src: Frame.Rgba): Frame {
        val w = src.width
        val h = src.height
        val row = 4 * w
        if (!fits(bytes.capacity(), row * h)) bytes = ByteBuffer.allocateDirect(row * h).order(ByteOrder.nativeOrder())
        val dst = bytes
        dst.clear()
        val view = src.buffer.duplicate()
        for (r in 0 until h) {
            val start = src.offset + r * src.rowStride
            view.limit(start + row)
            view.position(start)
            dst.put(view)
        }
        dst.clear()
        return Frame.Rgba(dst, 0, row, w, h, src.rotation)
    }

    private fun copyYuv(src: Frame.Yuv): Frame {
        val w = src.width
        val h = src.height
        val cw = (w + 1) / 2
        val ch = (h + 1) / 2
        val need = w * h + 2 * cw * ch
        if (!fits(bytes.capacity(), need)) bytes = ByteBuffer.allocateDirect(need).order(ByteOrder.nativeOrder())
        val dst = bytes
        dst.clear()
        copyPlane(src, 0, w, h, dst, 0)
        copyPlane(src, 1, cw, ch, dst, w * h)
        copyPlane(src, 2, cw, ch, dst, w * h + cw * ch)
        dst.clear()
        return Frame.Yuv(
            w, h, src.rotation, arrayOf(dst, dst, dst),
            intArrayOf(0, w * h, w * h + cw * ch), intArrayOf(w, cw, cw), intArrayOf(1, 1, 1),
        )
    }

    /** Plane [i] of [src] ([cols] x [rows] samples) into [dst] from [at], tightly packed. */
    private fun copyPlane(src: Frame.Yuv, i: Int, cols: Int, rows: Int, dst: ByteBuffer, at: Int) {
        val buf = src.planes[i]
        val off = src.offsets[i]
        val rs = src.rowStrides[i]
        val ps = src.pixelStrides[i]
        if (ps == 1) {
            val view = buf.duplicate()
            dst.position(at)
            for (r in 0 until rows) {
                val start = off + r * rs
                view.limit(start + cols)
                view.position(start)
                dst.put(view)
            }
        } else {
            var o = at
            for (r in 0 until rows) {
                var s = off + r * rs
                for (c in 0 until cols) {
                    dst.put(o++, buf.get(s))
                    s += ps
                }
            }
        }
    }
}
