import fs from "node:fs";

/**
 * f_type magic numbers of network filesystems, where SQLite's WAL mode is unsafe (its shared memory
 * index does not work across hosts) and a rollback journal must be used instead.
 */
const NETWORK_FS_MAGIC = new Map<number, string>([
  [0x6969, "nfs"],
  [0x517b, "smb"],
  [0xfe534d42, "smb2"],
  [0xff534d42, "cifs"],
  [0x65735546, "fuse"],
  [0x47504653, "gpfs"],
  [0x0bd00bd0, "lustre"],
  [0x6e667364, "nfsd"],
  [0x564c, "ncp"],
  [0x1373, "devfs"],
  [0x01021997, "v9fs"],
  [0x19830326, "fhgfs/beegfs"],
  [0x013111a8, "ibrix"],
  [0xaad7aaea, "panfs"],
  [0x7461636f, "ocfs2"],
  [0x01161970, "gfs2"],
  [0x00c36400, "ceph"],
]);

/** The network filesystem the folder sits on, or null for a local disk (or when statfs cannot tell). */
export function networkFilesystem(dir: string): string | null {
  if (process.env.CORRAL_ASSUME_NFS === "1") return "nfs (CORRAL_ASSUME_NFS=1)";
  try {
    const st = fs.statfsSync(dir);
    return NETWORK_FS_MAGIC.get(Number(st.type) >>> 0) ?? null;
  } catch {
    return null;
  }
}
