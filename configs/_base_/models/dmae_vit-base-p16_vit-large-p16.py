# DMAE: ViT-B/16 student distilled from an MAE ViT-L/16 teacher (paper Sec. 4,
# the main result, 84.0% IN-1k after fine-tuning).
#
# - student: MAE encoder (no drop path) + MAE pixel decoder (512-d, 8 blocks,
#   16 heads) with the exact MAE initialisation; MSE on the masked patches,
#   `norm_pix=False` (official DMAE default; MAE itself uses True);
# - alignment: student block index 8 (9th of 12) -> teacher block index 17
#   (18th of 24), both at 3/4 depth; projector = the paper's 2-layer MLP
#   (Linear-GELU-Linear, hidden = teacher width); per-token L2 normalisation
#   + L1 (official code), alpha = 1;
# - teacher: frozen MAE ViT-L/16, built with only 18 blocks (no later
#   blocks, final norm or decoder), fed the student's visible patches.
#   Default file: the one the official code uses,
#   `checkpoints/mae_visualize_vit_large.pth` (MAE's visualisation
#   checkpoint; see docs/dmae.md for the URL, the encoder-only
#   `mae_pretrain_vit_large.pth` and the mmpretrain model-zoo alternative
#   `mmpretrain://mae_vit-large-p16_8xb512-amp-coslr-1600e_in1k`).
model = dict(
    type='DMAE',
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
        predict_feature_dim=None,  # pixels: 16 * 16 * 3
        keep_cls=False,
        drop_path_rate=0.0),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=False,
        patch_size=16,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    teacher=dict(
        type='TeacherViT',
        arch='l',  # the checkpoint's architecture; depth is set by DMAE
        img_size=224,
        patch_size=16,
        final_norm=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/mae_visualize_vit_large.pth')),
    projector=dict(type='FeatureProjector', mode='mlp', init='xavier'),
    student_layers=[8],
    teacher_layers=[17],
    align_loss=dict(type='FeatureAlignLoss', criterion='L1', normalize=True),
    alpha=1.0,
    # frozen-teacher forward in bf16 where the hardware runs it natively
    # (Ampere+ GPUs, AMX/AVX512-BF16 CPUs; targets within 1% of fp32, see
    # docs/performance.md); elsewhere it follows the student's AMP (fp16
    # under AmpOptimWrapper, as in the official code)
    teacher_precision='auto')
