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
import java.nio.ByteBuffer
import java.security.MessageDigest
import java.util.concurrent.atomic.AtomicInteger

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
 *   The mapped bytes are SHA-256 checked against the manifest as the ExecuTorch copy is.
 *
 * Hashing a model costs tens of ms to seconds, so it is done once per installed version: after a successful
 * check a record (`<file>.sha256` beside the copy; for a TFLite asset or an app's model file in its private
 * storage, a file in `noBackupFilesDir/mobilesdk/verified/`; a model file elsewhere is hashed every time) keeps the hash with the file's size and modification time (the
 * asset's length) and the app's version (versionCode and install time). A later create whose record matches
 * all of them does not hash again; a changed file (size, mtime), an app update or another expected hash
 * hashes again (and a wrong copy is replaced, a wrong app file or asset refused). A missing or unwritable
 * record only costs the hash.
 */
internal object ModelFiles {
    const val COPY_DIR = "mobilesdk/models"
    const val RECORD_DIR = "mobilesdk/verified"

    /** SHA-256 computations of model bytes so far (instrumentation: read by the JVM tests). */
    internal val hashes = AtomicInteger()

    /** The app's installed version (versionCode and last install/update time), the key of hash records. */
    fun appVersion(context: Context): String = try {
        val info = context.packageManager.getPackageInfo(context.packageName, 0)
        @Suppress("DEPRECATION")
        "${info.versionCode}/${info.lastUpdateTime}"
    } catch (e: Exception) {
        "unknown"
    }

    /** Where records of files outside our copy folder go; null without app storage (a bare Context on a JVM): no record. */
    private fun recordDir(context: Context): File? = try {
        File(context.noBackupFilesDir, RECORD_DIR)
    } catch (e: RuntimeException) {
        null
    }

    /**
     * Records for an app's own model file only when it lies in the app's private storage (`dataDir`): a
     * file elsewhere (shared storage) could be replaced by someone else with its size and mtime kept, so it
     * is hashed at every create.
     */
    private fun recordDirFor(context: Context, file: File): File? = try {
        val data = context.dataDir.canonicalPath + File.separator
        if (file.canonicalPath.startsWith(data)) recordDir(context) else null
    } catch (e: Exception) {
        null
    }

    /** What a record holds for [file]: the hash and everything that, changed, means the file may have changed. */
    private fun fileKey(file: File, version: String) = "${file.length()} ${file.lastModified()} $version ${file.absolutePath}"

    private fun isRecorded(record: File?, sha256: String, key: String): Boolean = try {
        record != null && record.isFile && record.readText() == "${sha256.lowercase()} $key"
    } catch (e: IOException) {
        false
    }

    /** Writes [record] (temporary file + rename); a failure only means the next create hashes again. */
    private fun record(record: File?, sha256: String, key: String) {
        if (record == null) return
        try {
            val dir = record.parentFile ?: return
            if (!dir.isDirectory && !dir.mkdirs()) return
            val tmp = File(dir, record.name + ".tmp")
            tmp.writeText("${sha256.lowercase()} $key")
            if (!tmp.renameTo(record)) tmp.delete()
        } catch (e: IOException) {
        }
    }

    fun noCompressAdvice(name: String): String {
        val ext = name.substringAfterLast('.', "tflite")
        return "add to the app module's build.gradle.kts: android { androidResources { noCompress += \"$ext\" } }"
    }

    /** The ExecuTorch program as a file: [modelFile] if given (hash-checked), else the asset copied to app storage. */
    fun executorchFile(context: Context, assetName: String, sha256: String?, modelFile: File?): File {
        val version = appVersion(context)
        if (modelFile != null) {
            checkFile(modelFile, sha256, recordDirFor(context, modelFile), version)
            return modelFile
        }
        val dir = File(context.noBackupFilesDir, COPY_DIR)
        return ensureCopy({ openAsset(context, assetName) }, File(dir, assetName), sha256, "asset '$assetName'", version)
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
     * an existing [dest] whose record (`<dest>.sha256`, see the class notes; [version]: the app's) or, without
     * one, whose hash matches.
     */
    fun ensureCopy(open: () -> InputStream, dest: File, sha256: String?, what: String, version: String = ""): File {
        val record = File(dest.path + ".sha256")
        if (dest.isFile) {
            if (sha256 == null || isRecorded(record, sha256, fileKey(dest, version))) return dest
            if (sha256(dest).equals(sha256, ignoreCase = true)) {
                record(record, sha256, fileKey(dest, version))
                return dest
            }
        }
        val dir = dest.parentFile ?: throw PoseException(PoseException.IO, "$dest has no parent folder")
        if (!dir.isDirectory && !dir.mkdirs()) throw PoseException(PoseException.IO, "cannot create $dir")
        val tmp = try {
            File.createTempFile(dest.name + ".", ".tmp", dir)
        } catch (e: IOException) {
            throw PoseException(PoseException.IO, "cannot write in $dir: ${e.message}", e)
        }
        try {
            val digest = MessageDigest.getInstance("SHA-256")
            hashes.incrementAndGet()
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
            if (sha256 != null) record(record, sha256, fileKey(dest, version))
            return dest
        } catch (e: IOException) {
            throw PoseException(PoseException.IO, "copying $what to $dest failed: ${e.message}", e)
        } finally {
            tmp.delete()
        }
    }

    /**
     * A model file given by the app: must exist and, when [sha256] is known, match it (hashed unless a record
     * in [recordDir] says this file, unchanged, matched under this app [version]).
     */
    fun checkFile(file: File, sha256: String?, recordDir: File? = null, version: String = "") {
        if (!file.isFile) throw PoseException(PoseException.IO, "model file $file does not exist")
        if (sha256 == null) return
        val record = recordDir?.let { File(it, "${file.name}-${Integer.toHexString(file.absolutePath.hashCode())}.sha256") }
        val key = fileKey(file, version)
        if (isRecorded(record, sha256, key)) return
        val got = sha256(file)
        if (!got.equals(sha256, ignoreCase = true)) {
            throw PoseException(PoseException.INVALID_MODEL, "model file $file has SHA-256 $got but the manifest says $sha256")
        }
        record(record, sha256, key)
    }

    /** The TFLite model mapped from [modelFile] or from the asset, hash-checked (once per installed version). */
    fun tfliteBuffer(context: Context, assetName: String, sha256: String?, modelFile: File?): MappedByteBuffer {
        val version = appVersion(context)
        if (modelFile != null) {
            checkFile(modelFile, sha256, recordDirFor(context, modelFile), version)
            return FileInputStream(modelFile).use { it.channel.map(FileChannel.MapMode.READ_ONLY, 0, it.channel.size()) }
        }
        val map = mapAsset(assetName, { context.assets.openFd(assetName) }, { context.assets.open(assetName) })
        if (sha256 != null) checkBuffer(map, sha256, recordDir(context)?.let { File(it, "$assetName.sha256") }, "${map.capacity()} $version", "asset '$assetName'")
        return map
    }

    /**
     * Model bytes in memory (a mapped asset) against [sha256], hashed unless [record] holds [key] (the asset's
     * length and the app's version: an asset changes only with the app).
     */
    fun checkBuffer(bytes: ByteBuffer, sha256: String, record: File?, key: String, what: String) {
        if (isRecorded(record, sha256, key)) return
        val digest = MessageDigest.getInstance("SHA-256")
        hashes.incrementAndGet()
        digest.update(bytes.duplicate().also { it.clear() })
        val got = hex(digest.digest())
        if (!got.equals(sha256, ignoreCase = true)) {
            throw PoseException(
                PoseException.INVALID_MODEL,
                "$what has SHA-256 $got but its manifest says $sha256: the model and its manifest do not belong together",
            )
        }
        record(record, sha256, key)
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
        hashes.incrementAndGet()
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
