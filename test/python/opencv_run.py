"""Runs an ONNX model in OpenCV DNN: opencv_run.py MODEL INPUT.f32 N,C,H,W OUTPUT.f32 (raw float32, little-endian).

Used by test/cli/opencv.test.ts to check that `unetc compile --static-size` files run outside
onnxruntime. Exit 3 with the message when OpenCV cannot load or run the model.
"""
import sys

import cv2
import numpy as np

model, source, dims, target = sys.argv[1:5]
shape = [int(d) for d in dims.split(",")]
x = np.fromfile(source, dtype="<f4").reshape(shape)
try:
    net = cv2.dnn.readNetFromONNX(model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    net.setInput(x)
    y = net.forward()
except cv2.error as e:
    print(str(e).strip().splitlines()[-1] if str(e).strip() else "cv2.error", file=sys.stderr)
    sys.exit(3)
np.ascontiguousarray(y, dtype="<f4").tofile(target)
print(",".join(str(d) for d in y.shape))
