import json, hashlib
def d(s): return "sha256:"+hashlib.sha256(s.encode()).hexdigest()
M="application/vnd.oci.image.manifest.v1+json"; C="application/vnd.oci.image.config.v1+json"; L="application/vnd.oci.image.layer.v1.tar+gzip"
ops=[]
base=d("base-layer")
def img(i, name, ns="default", at="2026-04-02T08:00:00Z", lease=None):
    o={"op":"create_image","target":{"mediaType":M,"digest":d("m%d"%i),"size":1000+i},
       "content":[{"mediaType":C,"digest":d("c%d"%i),"size":500+i},{"mediaType":L,"digest":base,"size":1000000},{"mediaType":L,"digest":d("l%d"%i),"size":20000+i}],"at":at,"ns":ns}
    if name: o["name"]=name
    if lease: o["lease"]=lease
    ops.append(o)
img(1,"alpine:3.18")
ops.append({"op":"tag","source":"alpine:3.18","target":"foo:1","at":"2026-04-02T08:01:00Z"})
ops.append({"op":"tag","source":"alpine:3.18","target":"registry.example.com/team/alpine:prod","at":"2026-04-02T08:02:00Z"})
img(1,"alpine@"+d("m1"),at="2026-04-02T08:03:00Z")
img(2,"redis:7",at="2026-04-03T08:00:00Z")
img(3,None,at="2026-04-04T08:00:00Z")
img(4,"busybox:latest",at="2026-04-05T08:00:00Z")
ops.append({"op":"tag","source":"busybox","target":"redis:7","at":"2026-04-05T09:00:00Z"})
ops.append({"op":"container_create","id":"6845653a6057944a2b85d1ddabacca802d0fd5c994803a8561981fa06c07f67b","image":"foo:1","running":True,"at":"2026-04-05T10:00:00Z"})
ops.append({"op":"lease_create","id":"pull-1","at":"2026-04-05T11:00:00Z"})
img(5,"nginx:1",lease="pull-1",at="2026-04-06T08:00:00Z")
img(6,"alpine:3.18",ns="other",at="2026-04-07T08:00:00Z")
img(1,"shared:x",ns="other",at="2026-04-07T09:00:00Z")
for o in ops: print(json.dumps(o))
