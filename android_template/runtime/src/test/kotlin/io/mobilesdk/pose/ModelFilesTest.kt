package io.mobilesdk.pose

import android.content.res.AssetFileDescriptor
import android.os.ParcelFileDescriptor
import io.mobilesdk.pose.internal.ModelFiles
import java.io.ByteArrayInputStream
import java.io.File
import java.io.FileNotFoundException
import java.io.IOException
import java.security.MessageDigest
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.GraphicsMode

/** Model assets: the ExecuTorch copy with its hash check, the TFLite memory map and its noCompress error. */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class ModelFilesTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private fun sha(b: ByteArray) = MessageDigest.getInstance("SHA-256").digest(b).joinToString("") { "%02x".format(it) }

    @Test
    fun copyIsVerifiedReusedAndReplacedAtomically() {
        val model = ByteArray(300_000) { (it * 31).toByte() }
        val dest = File(tmp.root, "models/m.pte")
        var opens = 0
        val open = { opens++; ByteArrayInputStream(model) }
        ModelFiles.ensureCopy(open, dest, sha(model), "asset 'm.pte'")
        assertArrayEquals(model, dest.readBytes())
        assertEquals(1, opens)
        ModelFiles.ensureCopy(open, dest, sha(model), "asset 'm.pte'")
        assertEquals("an intact copy is reused", 1, opens)
        dest.writeBytes(model.copyOf(1000)) // truncated / stale copy
        ModelFiles.ensureCopy(open, dest, sha(model), "asset 'm.pte'")
        assertEquals(2, opens)
        assertArrayEquals(model, dest.readBytes())
        val newer = ByteArray(1000) { 7 }
        ModelFiles.ensureCopy({ ByteArrayInputStream(newer) }, dest, sha(newer), "asset 'm.pte'")
        assertArrayEquals("an app update with another model replaces the copy", newer, dest.readBytes())
        assertEquals("the copy and its hash record", listOf("m.pte", "m.pte.sha256"), dest.parentFile!!.list()!!.sorted())
    }

    /**
     * The hash is computed once per installed version: a second check of an unchanged copy, app file or
     * TFLite asset reads only the record; a changed file (size, mtime), another app version or a wrong
     * record hashes again — and a wrong file is replaced (the copy) or refused (the app's file, the asset).
     */
    @Test
    fun hashIsCheckedOncePerInstalledVersion() {
        val model = ByteArray(200_000) { (it * 13).toByte() }
        val dest = File(tmp.root, "models/m.pte")
        var opens = 0
        val open = { opens++; ByteArrayInputStream(model) }
        fun hashes(block: () -> Unit): Int = ModelFiles.hashes.get().let { before -> block(); ModelFiles.hashes.get() - before }
        assertEquals("the copy is hashed as it is written", 1, hashes { ModelFiles.ensureCopy(open, dest, sha(model), "m", "v1") })
        assertEquals("verified: not hashed again", 0, hashes { ModelFiles.ensureCopy(open, dest, sha(model), "m", "v1") })
        assertEquals("an app update re-checks it", 1, hashes { ModelFiles.ensureCopy(open, dest, sha(model), "m", "v2") })
        assertEquals(0, hashes { ModelFiles.ensureCopy(open, dest, sha(model), "m", "v2") })
        assertEquals(1, opens)
        // the same size, another content and time: hashed, found wrong, copied again
        dest.writeBytes(ByteArray(model.size))
        assertTrue(dest.setLastModified(dest.lastModified() - 10_000))
        assertEquals(2, hashes { ModelFiles.ensureCopy(open, dest, sha(model), "m", "v2") })
        assertEquals(2, opens)
        assertArrayEquals(model, dest.readBytes())
        assertEquals(0, hashes { ModelFiles.ensureCopy(open, dest, sha(model), "m", "v2") })

        // An app's own model file: the record lives in a folder of ours.
        val records = File(tmp.root, "verified")
        val file = tmp.newFile("download.pte").also { it.writeBytes(model) }
        assertEquals(1, hashes { ModelFiles.checkFile(file, sha(model), records, "v1") })
        assertEquals(0, hashes { ModelFiles.checkFile(file, sha(model), records, "v1") })
        file.writeBytes(model.copyOf(1000))
        val e = assertThrows(PoseException::class.java) { ModelFiles.checkFile(file, sha(model), records, "v1") }
        assertEquals("a changed file is hashed again and refused", PoseException.INVALID_MODEL, e.status)
        assertThrows("and stays refused", PoseException::class.java) { ModelFiles.checkFile(file, sha(model), records, "v1") }

        // A TFLite asset, memory-mapped: hashed once per app version too.
        val buffer = java.nio.ByteBuffer.wrap(model)
        val record = File(records, "m.tflite.sha256")
        assertEquals(1, hashes { ModelFiles.checkBuffer(buffer, sha(model), record, "200000 v1", "asset 'm.tflite'") })
        assertEquals(0, hashes { ModelFiles.checkBuffer(buffer, sha(model), record, "200000 v1", "asset 'm.tflite'") })
        val wrong = assertThrows(PoseException::class.java) {
            ModelFiles.checkBuffer(java.nio.ByteBuffer.wrap(ByteArray(10)), sha(model), record, "10 v2", "asset 'm.tflite'")
        }
        assertEquals(PoseException.INVALID_MODEL, wrong.status)
        assertTrue(wrong.message!!, wrong.message!!.startsWith("asset 'm.tflite' has SHA-256 ") && wrong.message!!.contains("do not belong together"))
    }

    @Test
    fun aCorruptAssetIsRefusedAndLeavesNothing() {
        val dest = File(tmp.root, "models/m.pte")
        val e = assertThrows(PoseException::class.java) {
            ModelFiles.ensureCopy({ ByteArrayInputStream(ByteArray(10)) }, dest, "ab".repeat(32), "asset 'm.pte'")
        }
        assertEquals(PoseException.INVALID_MODEL, e.status)
        assertTrue(e.message!!.contains("do not belong together"))
        assertFalse(dest.exists())
        assertEquals(0, dest.parentFile!!.list()!!.size)
        val io = assertThrows(PoseException::class.java) {
            ModelFiles.ensureCopy({ throw IOException("disk gone") }, dest, null, "asset 'm.pte'")
        }
        assertEquals(PoseException.IO, io.status)
        assertEquals(0, dest.parentFile!!.list()!!.size)
    }

    @Test
    fun missingAssetAndModelFile() {
        val context = RuntimeEnvironment.getApplication()
        val e = assertThrows(PoseException::class.java) { ModelFiles.executorchFile(context, "nope.pte", null, null) }
        assertEquals(PoseException.IO, e.status)
        assertTrue(e.message!!, e.message!!.contains("asset 'nope.pte' is not in the app"))
        val t = assertThrows(PoseException::class.java) { ModelFiles.tfliteBuffer(context, "nope.tflite", null, null) }
        assertTrue(t.message!!, t.message!!.contains("asset 'nope.tflite'"))
        val f = assertThrows(PoseException::class.java) { ModelFiles.executorchFile(context, "x", null, File(tmp.root, "absent.pte")) }
        assertTrue(f.message!!.contains("does not exist"))
        val file = tmp.newFile("m.tflite").also { it.writeBytes(ByteArray(16)) }
        val h = assertThrows(PoseException::class.java) { ModelFiles.tfliteBuffer(context, "x", "00".repeat(32), file) }
        assertEquals(PoseException.INVALID_MODEL, h.status)
    }

    @Test
    fun assetIsMappedAtItsOffsetInTheApk() {
        // An uncompressed asset is a byte range of the APK: an AssetFileDescriptor with an offset.
        val apk = tmp.newFile("app.apk")
        val payload = ByteArray(5000) { (it % 251).toByte() }
        apk.writeBytes(ByteArray(1234) + payload + ByteArray(77))
        val pfd = ParcelFileDescriptor.open(apk, ParcelFileDescriptor.MODE_READ_ONLY)
        val map = ModelFiles.mapAsset("m.tflite", { AssetFileDescriptor(pfd, 1234, 5000) }, { error("not called") })
        assertEquals(5000, map.capacity())
        val got = ByteArray(5000).also { map.get(it) }
        assertArrayEquals(payload, got)
    }

    @Test
    fun compressedAssetFailsWithTheNoCompressAdvice() {
        val e = assertThrows(PoseException::class.java) {
            ModelFiles.mapAsset(
                "movepose-xs.litert-fp32.tflite",
                { throw FileNotFoundException("This file can not be opened as a file descriptor; it is probably compressed") },
                { ByteArrayInputStream(ByteArray(3)) },
            )
        }
        assertEquals(PoseException.IO, e.status)
        assertTrue(e.message!!, e.message!!.contains("stored compressed"))
        assertTrue(e.message!!, e.message!!.contains("androidResources { noCompress += \"tflite\" }"))
    }
}
