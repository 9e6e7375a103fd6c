# MAE ViT-B/16 baseline for DMAE, 100 epochs: exactly the DMAE student
# (same encoder, decoder, initialisation, pixel loss with norm_pix=False,
# data pipeline, batch 4096, optimizer and schedule) without the teacher and
# the alignment term, so that comparisons run in one codebase.
# Paper Tab. 4/5: MAE-B 100e 81.6% (DMAE-B 84.0%).
# mmpretrain's `MAE` algorithm is used unchanged; its backbone/neck are our
# `MKDViT` / `DBOTDecoder(keep_cls=False)`, which are mmpretrain's `MAEViT` /
# `MAEPretrainDecoder` with the official MAE initialisation.
_base_ = [
    '../_base_/datasets/imagenet_bs128_mkd.py',
    '../_base_/schedules/dmae_adamw_100e.py',  # includes default_runtime
]

model = dict(
    type='MAE',
    backbone=dict(
        type='MKDViT',
        arch='b',
        img_size=224,
        patch_size=16,
        mask_ratio=0.75,
        drop_path_rate=0.0),
    neck=dict(
        type='DBOTDecoder',
        num_patches=196,
        patch_size=16,
        in_chans=3,
        embed_dim=768,
        decoder_embed_dim=512,
        decoder_depth=8,
        decoder_num_heads=16,
        mlp_ratio=4,
        predict_feature_dim=None,
        keep_cls=False),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=False,
        patch_size=16,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')))
