package io.mobilesdk.pose.internal

import android.content.Context
import android.content.res.AssetFileDescriptor
import io.mobilesdk.pose.PoseException
import java.io.File
import java.io.FileInputStream
import java.io.FileNotFoundException
import java.io.IOException
import java.io.InputStream
import java.nio.MappedByteBuffer
import java.nio.channels.FileChannel
import java.security.MessageDigest

/**
 * Where model files come from.
 *
 * - ExecuTorch loads a program from a file path (it memory-maps it), so the asset is copied once to
 *   `noBackupFilesDir/mobilesdk/models/<asset>` and reused while its SHA-256 matches the manifest's; a
 *   mismatch (an app update shipped another model, a truncated copy) copies again. Copies go to a temporary
 *   file in the same folder and are renamed into place, so a crash mid-copy never leaves a partial model
 *   where the next start would load it.
 * - TFLite memory-maps the asset straight out of the APK (`AssetFileDescriptor` + `FileChannel.map`),
 *   which works only for assets stored uncompressed. An app must declare, in its module's build.gradle.kts:
 *   `android { androidResources { noCompress += listOf("tflite", "pte") } }` (AGP 8; older AGP:
 *   `aaptOptions { noCompress "tflite" }`). A compressed asset fails with a message saying exactly that.
 */
internal object ModelFiles {
    const val COPY_DIR = "mobilesdk/models"

    fun noCompressAdvice(name: String): String {
        val ext = name.substringAfterLast('.', "tflite")
        return "add to the app module's build.gradle.kts: android { androidResources { noCompress += \"$ext\" } }"
    }

    /** The ExecuTorch program as a file: [modelFile] if given (hash-checked), else the asset copied to app storage. */
    fun executorchFile(context: Context, assetName: String, sha256: String?, modelFile: File?): File {
        if (modelFile != null) {
            checkFile(modelFile, sha256)
            return modelFile
        }
        val dir = File(context.noBackupFilesDir, COPY_DIR)
        return ensureCopy({ openAsset(context, assetName) }, File(dir, assetName), sha256, "asset '$assetName'")
    }

    fun openAsset(context: Context, name: String): InputStream = try {
        context.assets.open(name)
    } catch (e: IOException) {
        throw PoseException(
            PoseException.IO,
            "asset '$name' is not in the app: the AAR ships it in assets/ (was the AAR added, or the asset " +
                "removed by a packaging rule?) (${e.message})",
            e,
        )
    }

    /**
     * [dest] with the bytes of [open] and SHA-256 [sha256] (null: not checked, copied when missing). Reuses
     * an existing [dest] whose hash matches.
     */
    fun ensureCopy(open: () -> InputStream, dest: File, sha256: String?, what: String): File {
        if (dest.isFile && (sha256 == null || sha256(dest).equals(sha256, ignoreCase = true))) return dest
        val dir = dest.parentFile ?: throw PoseException(PoseException.IO, "$dest has no parent folder")
        if (!dir.isDirectory && !dir.mkdirs()) throw PoseException(PoseException.IO, "cannot create $dir")
        val tmp = try {
            File.createTempFile(dest.name + ".", ".tmp", dir)
        } catch (e: IOException) {
            throw PoseException(PoseException.IO, "cannot write in $dir: ${e.message}", e)
        }
        try {
            val digest = MessageDigest.getInstance("SHA-256")
            open().use { input ->
                tmp.outputStream().use { output ->
                    val buf = ByteArray(1 shl 16)
                    while (true) {
                        val n = input.read(buf)
                        if (n < 0) break
                        digest.update(buf, 0, n)
                        output.write(buf, 0, n)
                    }
                    output.fd.sync()
                }
            }
            val got = hex(digest.digest())
            if (sha256 != null && !got.equals(sha256, ignoreCase = true)) {
                throw PoseException(
                    PoseException.INVALID_MODEL,
                    "$what has SHA-256 $got but its manifest says $sha256: the model and its manifest do not belong together",
                )
            }
            if (!tmp.renameTo(dest)) throw PoseException(PoseException.IO, "cannot rename $tmp to $dest")
            return dest
        } catch (e: IOException) {
            throw PoseException(PoseException.IO, "copying $what to $dest failed: ${e.message}", e)
        } finally {
            tmp.delete()
        }
    }

    /** A model file given by the app: must exist and, when [sha256] is known, match it. */
    fun checkFile(file: File, sha256: String?) {
        if (!file.isFile) throw PoseException(PoseException.IO, "model file $file does not exist")
        if (sha256 != null) {
            val got = sha256(file)
            if (!got.equals(sha256, ignoreCase = true)) {
                throw PoseException(PoseException.INVALID_MODEL, "model file $file has SHA-256 $got but the manifest says $sha256")
            }
        }
    }

    /** The TFLite model mapped from [modelFile] (hash-checked) or from the asset. */
    fun tfliteBuffer(context: Context, assetName: String, sha256: String?, modelFile: File?): MappedByteBuffer {
        if (modelFile != null) {
            checkFile(modelFile, sha256)
            return FileInputStream(modelFile).use { it.channel.map(FileChannel.MapMode.READ_ONLY, 0, it.channel.size()) }
        }
        return mapAsset(assetName, { context.assets.openFd(assetName) }, { context.assets.open(assetName) })
    }

    /**
     * Map an asset through its file descriptor. [openFd] fails with FileNotFoundException for a compressed
     * asset as for a missing one; [openStream] tells them apart for the message.
     */
    fun mapAsset(name: String, openFd: () -> AssetFileDescriptor, openStream: () -> InputStream): MappedByteBuffer {
        val afd = try {
            openFd()
        } catch (e: FileNotFoundException) {
            val exists = try {
                openStream().close()
                true
            } catch (_: IOException) {
                false
            }
            if (exists) {
                throw PoseException(
                    PoseException.IO,
                    "asset '$name' is stored compressed in the APK, so it cannot be memory-mapped; ${noCompressAdvice(name)}",
                    e,
                )
            }
            throw PoseException(PoseException.IO, "asset '$name' is not in the app: the AAR ships it in assets/ (${e.message})", e)
        } catch (e: IOException) {
            throw PoseException(PoseException.IO, "cannot open asset '$name': ${e.message}", e)
        }
        return afd.use {
            FileInputStream(it.fileDescriptor).use { s ->
                s.channel.map(FileChannel.MapMode.READ_ONLY, it.startOffset, it.declaredLength)
            }
        }
    }

    fun sha256(file: File): String {
        val digest = MessageDigest.getInstance("SHA-256")
        FileInputStream(file).use { input ->
            val buf = ByteArray(1 shl 16)
            while (true) {
                val n = input.read(buf)
                if (n < 0) break
                digest.update(buf, 0, n)
            }
        }
        return hex(digest.digest())
    }

    private fun hex(bytes: ByteArray): String {
        val sb = StringBuilder(bytes.size * 2)
        for (b in bytes) {
            val v = b.toInt() and 0xFF
            sb.append(HEX[v shr 4]).append(HEX[v and 0xF])
        }
        return sb.toString()
    }

    private const val HEX = "0123456789abcdef"
}
