# The encoder of `make demo`: a ViT of 6 blocks, 128-d, 4 heads, on 32-px
# images in 4-px patches (an 8 x 8 grid, 64 tokens): big enough to learn the
# demo shapes, small enough for thousands of steps per minute on 2 cores.
demo_arch = dict(
    embed_dims=128, num_layers=6, num_heads=4, feedforward_channels=512)
demo_img_size = 32
demo_patch_size = 4
demo_num_patches = 64
# SelfSupDataPreprocessor / ClsDataPreprocessor normalisation (ImageNet's)
demo_mean = [123.675, 116.28, 103.53]
demo_std = [58.395, 57.12, 57.375]
